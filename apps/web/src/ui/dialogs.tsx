// Starting conversations: a direct message by username, and the room directory
// (public rooms and my private ones) with a form to create a room.
import { useEffect, useState } from 'preact/hooks';
import type { ChatStore } from '../state/chat-store';
import { errorText } from '../state/error-text';
import { Avatar } from './avatar';
import { Modal } from './modal';

export function NewDirectDialog({ store, onClose }: { store: ChatStore; onClose: () => void }) {
  const [username, setUsername] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <Modal title="New message" onClose={onClose}>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(null);
          try {
            await store.openDirect(username);
            onClose();
          } catch (err) {
            setError(errorText(err));
            setBusy(false);
          }
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
                    {room.members.length} member{room.members.length === 1 ? '' : 's'}
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
