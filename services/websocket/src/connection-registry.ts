// This instance's open sockets, by user (several devices each) and by connection
// id, plus a per-IP count for the connection caps. One registry per app; nothing
// global, so two instances can live in one test process. A user's sockets are a small
// array (a user has a few devices; an empty-ish Set costs each idle socket ~0.1 KiB more).
import type { SocketSession } from './socket-session';

export interface ConnectionRegistry {
  /** Adds a session; true when it is the user's first socket on this instance. */
  add(session: SocketSession): boolean;
  /** Removes a session (idempotent); true when it was the user's last socket here. */
  remove(session: SocketSession): boolean;
  socketsOf(userId: string): readonly SocketSession[];
  get(connectionId: string): SocketSession | undefined;
  hasUser(userId: string): boolean;
  countForUser(userId: string): number;
  countForIp(ip: string): number;
  userIds(): string[];
  all(): IterableIterator<SocketSession>;
  readonly connectionCount: number;
  readonly userCount: number;
}

const NONE: readonly SocketSession[] = [];

export function createConnectionRegistry(): ConnectionRegistry {
  const byUser = new Map<string, SocketSession[]>();
  const byId = new Map<string, SocketSession>();
  const byIp = new Map<string, number>();

  return {
    add(session) {
      if (byId.has(session.connectionId)) return false;
      byId.set(session.connectionId, session);
      byIp.set(session.ip, (byIp.get(session.ip) ?? 0) + 1);
      const sockets = byUser.get(session.userId);
      if (sockets) {
        sockets.push(session);
        return false;
      }
      byUser.set(session.userId, [session]);
      return true;
    },
    remove(session) {
      if (byId.get(session.connectionId) !== session) return false;
      byId.delete(session.connectionId);
      const ipCount = (byIp.get(session.ip) ?? 1) - 1;
      if (ipCount <= 0) byIp.delete(session.ip);
      else byIp.set(session.ip, ipCount);
      const sockets = byUser.get(session.userId);
      if (!sockets) return false;
      const at = sockets.indexOf(session);
      if (at >= 0) sockets.splice(at, 1);
      if (sockets.length > 0) return false;
      byUser.delete(session.userId);
      return true;
    },
    socketsOf: (userId) => byUser.get(userId) ?? NONE,
    get: (connectionId) => byId.get(connectionId),
    hasUser: (userId) => byUser.has(userId),
    countForUser: (userId) => byUser.get(userId)?.length ?? 0,
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
