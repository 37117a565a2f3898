// Starting conversations: a direct message by username, and the room directory
// (public rooms and my private ones) with a form to create a room; and a room's
// settings for its owners and admins.
import type { Conversation } from '@parley/contracts';
import { useEffect, useState } from 'preact/hooks';
import type { ChatStore } from '../state/chat-store';
import { errorText } from '../state/error-text';
import { Avatar } from './avatar';
import { Modal } from './modal';

/** A dialog form's action: busy while it runs, its error shown, closed when it succeeds. */
function useFormAction(onDone: () => void) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function run(action: () => Promise<void>): Promise<void> {
    setBusy(true);
    setError(null);
    try {
      await action();
      onDone();
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  }
  return { error, busy, run };
}

export function NewDirectDialog({ store, onClose }: { store: ChatStore; onClose: () => void }) {
  const [username, setUsername] = useState('');
  const { error, busy, run } = useFormAction(onClose);
  return (
    <Modal title="New message" onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void run(() => store.openDirect(username));
        }}
      >
        <label class="field">
          <span>Username</span>
          <input
            name="username"
            autoFocus
            required
            autoCapitalize="none"
            spellcheck={false}
            placeholder="e.g. ada"
            value={username}
            onInput={(e) => setUsername(e.currentTarget.value)}
          />
        </label>
        {error && (
          <p class="form-error" role="alert">
            {error}
          </p>
        )}
        <div class="modal-actions">
          <button type="button" class="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="button primary" disabled={busy}>
            Open conversation
          </button>
        </div>
      </form>
    </Modal>
  );
}

export function RoomBrowser({ store, onClose }: { store: ChatStore; onClose: () => void }) {
  const [name, setName] = useState('');
  const [isPrivate, setPrivate] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => void store.loadRooms(), []);
  const rooms = store.rooms.value;
  const mine = store.conversationsById.value;

  return (
    <Modal title="Rooms" onClose={onClose} wide>
      <form
        class="create-room"
        onSubmit={async (e) => {
          e.preventDefault();
          setError(null);
          try {
            await store.createRoom(name.trim(), isPrivate);
            onClose();
          } catch (err) {
            setError(errorText(err));
          }
        }}
      >
        <label class="field grow">
          <span>New room</span>
          <input
            name="room-name"
            required
            maxLength={64}
            placeholder="Room name"
            value={name}
            onInput={(e) => setName(e.currentTarget.value)}
          />
        </label>
        <label class="checkbox">
          <input
            type="checkbox"
            checked={isPrivate}
            onChange={(e) => setPrivate(e.currentTarget.checked)}
          />{' '}
          Private
        </label>
        <button type="submit" class="button primary">
          Create
        </button>
      </form>
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      <h3 class="section-title">Browse</h3>
      {rooms === null ? (
        <p class="dim">Loading rooms…</p>
      ) : rooms.length === 0 ? (
        <p class="dim">No rooms yet. Create the first one.</p>
      ) : (
        <ul class="room-list">
          {rooms.map((room) => {
            const joined = mine[room.id] !== undefined;
            return (
              <li key={room.id} class="room-row" data-room-id={room.id}>
                <Avatar id={room.id} name={room.name ?? '#'} room />
                <span class="row-text">
                  <strong>{room.name}</strong>
                  <span class="dim">
                    {room.memberCount} member{room.memberCount === 1 ? '' : 's'}
                    {room.isPrivate ? ' · private' : ''}
                  </span>
                </span>
                {joined ? (
                  <button
                    type="button"
                    class="button small"
                    onClick={() => {
                      store.openConversation(room.id);
                      onClose();
                    }}
                  >
                    Open
                  </button>
                ) : (
                  <button
                    type="button"
                    class="button small primary"
                    aria-label={`Join ${room.name}`}
                    onClick={async () => {
                      await store.joinRoom(room.id);
                      onClose();
                    }}
                  >
                    Join
                  </button>
                )}
              </li>
            );
          })}
        </ul>
      )}
    </Modal>
  );
}

/** Name, description and privacy of a room (owners and admins, §10.4); only what changed is sent. */
export function RoomSettingsDialog({
  store,
  room,
  onClose,
}: {
  store: ChatStore;
  room: Conversation;
  onClose: () => void;
}) {
  const [name, setName] = useState(room.name ?? '');
  const [description, setDescription] = useState(room.description ?? '');
  const [isPrivate, setPrivate] = useState(room.isPrivate);
  const { error, busy, run } = useFormAction(onClose);
  return (
    <Modal title="Room settings" onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const change: { name?: string; description?: string; isPrivate?: boolean } = {};
          if (name.trim() !== (room.name ?? '')) change.name = name.trim();
          if (description.trim() !== (room.description ?? '') && description.trim() !== '')
            change.description = description.trim();
          if (isPrivate !== room.isPrivate) change.isPrivate = isPrivate;
          if (Object.keys(change).length === 0) onClose();
          else void run(() => store.updateRoom(room.id, change));
        }}
      >
        <label class="field">
          <span>Name</span>
          <input
            name="room-name"
            required
            maxLength={64}
            value={name}
            onInput={(e) => setName(e.currentTarget.value)}
          />
        </label>
        <label class="field">
          <span>Description</span>
          <textarea
            name="room-description"
            rows={3}
            maxLength={1000}
            value={description}
            onInput={(e) => setDescription(e.currentTarget.value)}
          />
        </label>
        <label class="checkbox">
          <input
            type="checkbox"
            checked={isPrivate}
            onChange={(e) => setPrivate(e.currentTarget.checked)}
          />{' '}
          Private (only members and people they invite can find it)
        </label>
        {error && (
          <p class="form-error" role="alert">
            {error}
          </p>
        )}
        <div class="modal-actions">
          <button type="button" class="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="button primary" disabled={busy}>
            Save
          </button>
        </div>
      </form>
    </Modal>
  );
}
