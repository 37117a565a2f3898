// The e2e harness: Parley's three services as real processes (see README.md in e2e/).
export { startStack, type EnvOverride, type Stack, type StackOptions } from './stack';
export {
  ServiceProcess,
  type Env,
  type ExitInfo,
  type ServiceName,
  type ServiceProcessOptions,
} from './service-process';
export { useStack, reportLogsOnFailure, type StackHandle } from './jest-hooks';
export {
  closeAllConnections,
  connect,
  createClient,
  createUsers,
  quickRealtime,
  type ClientOptions,
  type TestUser,
} from './users';
export { Inbox } from './inbox';
export { openRawSocket, type RawSocket } from './raw-socket';
export { failoverWebSocket, type FailoverWebSocket } from './failover-websocket';
export {
  brokerConnectionsOf,
  closeBrokerConnections,
  listBrokerConnections,
  type BrokerConnection,
} from './broker';
export { freePorts } from './free-ports';
export { waitFor, uniqueName } from '../../tools/test-infra';
