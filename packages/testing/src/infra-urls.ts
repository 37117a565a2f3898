// Where a test finds the infrastructure the jest global setup provides
// (jest-global-setup.ts exports MONGO_URL without a database, and AMQP_URL).
import { uniqueDbName } from './unique-name';

const defaultMongoUrl = 'mongodb://127.0.0.1:27017';
/** A RabbitMQ on this machine with its default account. */
export const localAmqpUrl = 'amqp://guest:guest@127.0.0.1:5672';

/**
 * MONGO_URL with `dbName` as its database (a fresh unique one by default), keeping any
 * query string such as `?directConnection=true`. Call it once per test file.
 */
export function testMongoUrl(dbName: string = uniqueDbName('t')): string {
  const base = process.env['MONGO_URL'] ?? defaultMongoUrl;
  const queryAt = base.indexOf('?');
  const query = queryAt === -1 ? '' : base.slice(queryAt);
  const withoutQuery = queryAt === -1 ? base : base.slice(0, queryAt);
  const hostsAt = withoutQuery.indexOf('://') + 3;
  const pathAt = withoutQuery.indexOf('/', hostsAt);
  const hosts = pathAt === -1 ? withoutQuery : withoutQuery.slice(0, pathAt);
  return `${hosts}/${dbName}${query}`;
}

export function amqpUrl(): string {
  return process.env['AMQP_URL'] ?? localAmqpUrl;
}
