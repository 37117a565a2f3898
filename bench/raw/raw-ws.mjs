// The ceiling's socket half, and the bare ws baseline. A bare `ws` server with no
// authentication: `ws://…/?user=ID` registers the socket under ID and gets
// `{"type":"ready"}`. With AMQP_URL and EXCHANGE set it consumes the fanout
// exchange (exclusive server-named queue, the same prefetch as Parley) and pushes
// each message to its recipient's sockets. A client frame `{"broadcast": text}` is
// pushed to every connected socket: the bare ws broadcast Parley's room fan-out is
// compared with.
//
// Prints `{"port":N}` once listening (and consuming); SIGTERM stops it. GET /metrics
// counts AMQP deliveries and acks under the names Parley's services use.
import amqp from 'amqplib';
import http from 'node:http';
import { WebSocketServer } from 'ws';

const { AMQP_URL, EXCHANGE, PORT = '0', PREFETCH = '200' } = process.env;

const sockets = new Map(); // user id → Set<WebSocket>
const counts = { deliveries: 0, acks: 0 };
const server = http.createServer((req, res) => {
  if (req.url !== '/metrics') return void res.writeHead(404).end();
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end(
    `parley_amqp_deliveries_total ${counts.deliveries}\nparley_amqp_acks_total ${counts.acks}\n`,
  );
});
const wss = new WebSocketServer({ server });

wss.on('connection', (socket, req) => {
  const user = new URL(req.url, 'http://x').searchParams.get('user') ?? '';
  let mine = sockets.get(user);
  if (!mine) sockets.set(user, (mine = new Set()));
  mine.add(socket);
  socket.on('close', () => {
    mine.delete(socket);
    if (mine.size === 0) sockets.delete(user);
  });
  socket.on('message', (data) => {
    const frame = JSON.parse(data.toString());
    if (frame.broadcast === undefined) return;
    const out = JSON.stringify({ type: 'message', text: frame.broadcast });
    for (const client of wss.clients) client.send(out);
  });
  socket.send('{"type":"ready"}');
});

let connection;
if (AMQP_URL && EXCHANGE) {
  connection = await amqp.connect(AMQP_URL, { noDelay: true }); // as Parley's services
  const channel = await connection.createChannel();
  await channel.assertExchange(EXCHANGE, 'fanout', { durable: true });
  const { queue } = await channel.assertQueue('', { exclusive: true });
  await channel.bindQueue(queue, EXCHANGE, '');
  await channel.prefetch(Number(PREFETCH));
  await channel.consume(queue, (msg) => {
    counts.deliveries += 1;
    const event = JSON.parse(msg.content.toString());
    const out = JSON.stringify({ type: 'message', id: event.id, text: event.text });
    for (const socket of sockets.get(event.to) ?? []) socket.send(out);
    channel.ack(msg);
    counts.acks += 1;
  });
}

server.listen(Number(PORT), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});

process.once('SIGTERM', async () => {
  for (const client of wss.clients) client.terminate();
  server.close();
  await connection?.close().catch(() => {});
  process.exit(0);
});
