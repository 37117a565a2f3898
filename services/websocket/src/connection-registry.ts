// This instance's open sockets, by user (several devices each) and by connection
// id, plus a per-IP count for the connection caps. One registry per app; nothing
// global, so two instances can live in one test process.
import type { SocketSession } from './socket-session';

export interface ConnectionRegistry {
  /** Adds a session; true when it is the user's first socket on this instance. */
  add(session: SocketSession): boolean;
  /** Removes a session (idempotent); true when it was the user's last socket here. */
  remove(session: SocketSession): boolean;
  socketsOf(userId: string): ReadonlySet<SocketSession>;
  get(connectionId: string): SocketSession | undefined;
  hasUser(userId: string): boolean;
  countForUser(userId: string): number;
  countForIp(ip: string): number;
  userIds(): string[];
  all(): IterableIterator<SocketSession>;
  readonly connectionCount: number;
  readonly userCount: number;
}

const NONE: ReadonlySet<SocketSession> = new Set();

export function createConnectionRegistry(): ConnectionRegistry {
  const byUser = new Map<string, Set<SocketSession>>();
  const byId = new Map<string, SocketSession>();
  const byIp = new Map<string, number>();

  return {
    add(session) {
      if (byId.has(session.connectionId)) return false;
      byId.set(session.connectionId, session);
      byIp.set(session.ip, (byIp.get(session.ip) ?? 0) + 1);
      let sockets = byUser.get(session.userId);
      const first = sockets === undefined;
      if (!sockets) {
        sockets = new Set();
        byUser.set(session.userId, sockets);
      }
      sockets.add(session);
      return first;
    },
    remove(session) {
      if (byId.get(session.connectionId) !== session) return false;
      byId.delete(session.connectionId);
      const ipCount = (byIp.get(session.ip) ?? 1) - 1;
      if (ipCount <= 0) byIp.delete(session.ip);
      else byIp.set(session.ip, ipCount);
      const sockets = byUser.get(session.userId);
      if (!sockets) return false;
      sockets.delete(session);
      if (sockets.size > 0) return false;
      byUser.delete(session.userId);
      return true;
    },
    socketsOf: (userId) => byUser.get(userId) ?? NONE,
    get: (connectionId) => byId.get(connectionId),
    hasUser: (userId) => byUser.has(userId),
    countForUser: (userId) => byUser.get(userId)?.size ?? 0,
    countForIp: (ip) => byIp.get(ip) ?? 0,
    userIds: () => [...byUser.keys()],
    all: () => byId.values(),
    get connectionCount() {
      return byId.size;
    },
    get userCount() {
      return byUser.size;
    },
  };
}
