// A round avatar: the user's initials on a colour derived from their id, with an
// optional presence dot.
import type { PresenceStatus } from '@parley/contracts';

const HUES = [262, 200, 150, 25, 330, 45, 180, 290, 10, 120];

function hueOf(id: string): number {
  let hash = 0;
  for (const char of id) hash = (hash * 31 + char.charCodeAt(0)) | 0;
  return HUES[Math.abs(hash) % HUES.length] ?? 262;
}

export function initials(name: string): string {
  const words = name
    .trim()
    .split(/[\s._-]+/)
    .filter(Boolean);
  const letters = words.length > 1 ? `${words[0]![0]}${words[1]![0]}` : name.slice(0, 2);
  return letters.toUpperCase();
}

export function Avatar(props: {
  id: string;
  name: string;
  size?: 'sm' | 'md' | 'lg';
  presence?: PresenceStatus | undefined;
  room?: boolean;
}) {
  const { id, name, size = 'md', presence, room = false } = props;
  return (
    <span
      class={`avatar avatar-${size}${room ? ' avatar-room' : ''}`}
      style={{ '--hue': hueOf(id) }}
      aria-hidden="true"
    >
      {room ? '#' : initials(name)}
      {presence !== undefined && <span class={`presence-dot ${presence}`} />}
    </span>
  );
}

export function PresenceLabel({ status }: { status: PresenceStatus | undefined }) {
  if (status === undefined) return null;
  return <span class="visually-hidden">{status === 'online' ? ' (online)' : ' (offline)'}</span>;
}
