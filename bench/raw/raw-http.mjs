// The ceiling's HTTP half: the same hops as chat's send with no product logic.
// A bare express JSON handler inserts the message into the same MongoDB-compatible
// server, publishes it with a publisher confirm to a fanout exchange, and answers 201.
//
//   MONGO_URL=mongodb://…/db AMQP_URL=amqp://… EXCHANGE=name node raw/raw-http.mjs
// Prints `{"port":N}` once listening; SIGTERM stops it.
import amqp from 'amqplib';
import express from 'express';
import { MongoClient } from 'mongodb';

const { MONGO_URL, AMQP_URL, EXCHANGE, PORT = '0' } = process.env;

const mongo = await new MongoClient(MONGO_URL).connect();
const messages = mongo.db().collection('raw_messages');
const connection = await amqp.connect(AMQP_URL, { noDelay: true }); // as Parley's services
const channel = await connection.createConfirmChannel();
await channel.assertExchange(EXCHANGE, 'fanout', { durable: true });

function publishConfirmed(body) {
  return new Promise((resolve, reject) => {
    channel.publish(
      EXCHANGE,
      '',
      Buffer.from(JSON.stringify(body)),
      { contentType: 'application/json', persistent: true },
      (err) => (err ? reject(err) : resolve()),
    );
  });
}

const app = express();
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
