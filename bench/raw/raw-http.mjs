// The ceiling's HTTP half: the same hops as chat's send with no product logic.
// A bare express JSON handler inserts the message into the same MongoDB-compatible
// server, publishes it with a publisher confirm to a fanout exchange, and answers 201.
//
//   MONGO_URL=mongodb://…/db AMQP_URL=amqp://… EXCHANGE=name node raw/raw-http.mjs
// Prints `{"port":N}` once listening; SIGTERM stops it. GET /metrics counts what it did
// under the names Parley's services use (MongoDB commands, AMQP publishes and confirms),
// so the bench reads the cost of a message on both sides alike.
import amqp from 'amqplib';
import express from 'express';
import { MongoClient } from 'mongodb';

const { MONGO_URL, AMQP_URL, EXCHANGE, PORT = '0' } = process.env;

const counts = { mongo: new Map(), publishes: 0, confirms: 0 };
const mongo = new MongoClient(MONGO_URL, { monitorCommands: true });
mongo.on('commandStarted', (event) => {
  const collection = String(event.command[event.commandName] ?? '');
  const key = `${event.commandName}\u0000${collection}`;
  counts.mongo.set(key, (counts.mongo.get(key) ?? 0) + 1);
});
await mongo.connect();
const messages = mongo.db().collection('raw_messages');
const connection = await amqp.connect(AMQP_URL, { noDelay: true }); // as Parley's services
const channel = await connection.createConfirmChannel();
await channel.assertExchange(EXCHANGE, 'fanout', { durable: true });

function publishConfirmed(body) {
  counts.publishes += 1;
  return new Promise((resolve, reject) => {
    channel.publish(
      EXCHANGE,
      '',
      Buffer.from(JSON.stringify(body)),
      { contentType: 'application/json', persistent: true },
      (err) => {
        counts.confirms += 1;
        if (err) reject(err);
        else resolve();
      },
    );
  });
}

const app = express();
app.get('/metrics', (_req, res) => {
  const lines = [...counts.mongo].map(([key, n]) => {
    const [command, collection] = key.split('\u0000');
    return `parley_mongo_commands_total{command="${command}",collection="${collection}"} ${n}`;
  });
  lines.push(`parley_amqp_publishes_total{exchange="${EXCHANGE}"} ${counts.publishes}`);
  lines.push(`parley_amqp_confirms_total ${counts.confirms}`);
  res.type('text/plain').send(`${lines.join('\n')}\n`);
});
app.use(express.json());
app.post('/send', async (req, res) => {
  const doc = { to: req.body.to, text: req.body.text, createdAt: new Date() };
  try {
    const { insertedId } = await messages.insertOne(doc);
    await publishConfirmed({ id: insertedId.toHexString(), to: doc.to, text: doc.text });
    res.status(201).json({ id: insertedId.toHexString() });
  } catch (err) {
    res.status(500).json({ error: String(err) });
  }
});

const server = app.listen(Number(PORT), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});

process.once('SIGTERM', async () => {
  server.close();
  await channel.close().catch(() => {});
  await connection.close().catch(() => {});
  await mongo.close();
  process.exit(0);
});
