// @parley/testing: every way of starting Parley and what it runs on, and the helpers
// its tests share (see README.md). Never imported by a service's or package's src/.

// small helpers every test uses
export { waitFor, type WaitForOptions } from './wait-for';
export { uniqueDbName, uniqueName } from './unique-name';
export { freePort } from './free-port';
export {
  createTestIssuer,
  type MintOptions,
  type TestIssuer,
  type TestIssuerOptions,
} from './test-issuer';
export { createCapturingLogger, createSilentLogger, type CapturingLogger } from './test-logger';

// the infrastructure: MongoDB (or the FerretDB dev server), RabbitMQ, Toxiproxy
export { amqpUrl, localAmqpUrl, testMongoUrl } from './infra-urls';
export {
  amqpAnswers,
  ensureToxiproxyBuilt,
  provideTestInfrastructure,
  startFerretDb,
  type Log,
  type RunningFerretDb,
  type StartFerretDbOptions,
  type TestInfrastructure,
} from './infrastructure';
export { startFerretDbProcess, type ToolProcess } from './tool-process';
export {
  rabbitmqSbin,
  startRabbitCluster,
  type RabbitCluster,
  type RabbitClusterOptions,
  type RabbitNode,
} from './rabbit-cluster';
export {
  ToxiproxyApiError,
  createToxiproxyClient,
  startToxiproxy,
  upstreamOf,
  viaProxy,
  type ProxyLink,
  type ToxicSpec,
  type ToxiproxyClient,
  type ToxiproxyServer,
} from './toxiproxy';

// Parley's services as processes
export {
  spawnNode,
  type Env,
  type ExitInfo,
  type NodeProcess,
  type NodeProcessOptions,
} from './node-process';
export { ServiceProcess, type ServiceName, type ServiceProcessOptions } from './service-process';
export { startStack, type EnvOverride, type Stack, type StackOptions } from './stack';
export { reportLogsOnFailure, useStack, useStarted, type StackHandle } from './use-stack';
export {
  brokerConnectionsOf,
  closeBrokerConnections,
  listBrokerConnections,
  loadComposeDefinitions,
  type BrokerConnection,
  type DefinitionsVhost,
} from './broker';

// driving a stack from the outside, as a user's app would
export {
  closeAllConnections,
  connect,
  createClient,
  createUsers,
  quickRealtime,
  tokenOf,
  type ClientOptions,
  type TestUser,
} from './users';
export { Inbox } from './inbox';
export { openRawSocket, type RawSocket } from './raw-socket';
export { failoverWebSocket, type FailoverWebSocket } from './failover-websocket';
