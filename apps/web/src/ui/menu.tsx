// A small menu behind a button (conversation options, a member's actions): the button
// says whether it is open, arrow keys move between items, Escape closes and returns
// focus to the button, a click elsewhere closes it.
import type { UserRef } from '@parley/contracts';
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ChatStore } from '../state/chat-store';
import { Icon, type IconName } from './modal';

export interface MenuItem {
  label: string;
  onSelect: () => void;
  danger?: boolean;
}

export function Menu(props: {
  label: string;
  icon?: IconName;
  items: readonly (MenuItem | { heading: string })[];
  children?: ComponentChildren;
}) {
  const [open, setOpen] = useState(false);
  const root = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (!open) return;
    const first = root.current?.querySelector<HTMLElement>('[role="menuitem"]');
    first?.focus();
    const outside = (event: PointerEvent) => {
      if (!root.current?.contains(event.target as Node)) setOpen(false);
    };
    document.addEventListener('pointerdown', outside);
    return () => document.removeEventListener('pointerdown', outside);
  }, [open]);

  const close = () => {
    setOpen(false);
    button.current?.focus();
  };

  return (
    <div
      class="menu"
      ref={root}
      onKeyDown={(e) => {
        if (!open) return;
        if (e.key === 'Escape') {
          e.stopPropagation();
          close();
          return;
        }
        if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
        e.preventDefault();
        const items = [...(root.current?.querySelectorAll<HTMLElement>('[role="menuitem"]') ?? [])];
        const at = items.indexOf(document.activeElement as HTMLElement);
        const step = e.key === 'ArrowDown' ? 1 : -1;
        items[(at + step + items.length) % items.length]?.focus();
      }}
    >
      <button
        ref={button}
        type="button"
        class="icon-button"
        aria-label={props.label}
        title={props.label}
        aria-haspopup="menu"
        aria-expanded={open}
        onClick={() => setOpen((o) => !o)}
      >
        <Icon name={props.icon ?? 'more'} />
      </button>
      {open && (
        <div class="menu-popup" role="menu" aria-label={props.label}>
          {props.items.map((item, i) =>
            'heading' in item ? (
              <p key={i} class="menu-heading" role="presentation">
                {item.heading}
              </p>
            ) : (
              <button
                key={i}
                type="button"
                role="menuitem"
                tabIndex={-1}
                class={`menu-item${item.danger ? ' danger' : ''}`}
                onClick={() => {
                  close();
                  item.onSelect();
                }}
              >
                {item.label}
              </button>
            ),
          )}
        </div>
      )}
    </div>
  );
}

/** Block (after a confirmation) or unblock someone: in a direct conversation's menu and a member's. */
export function blockItem(store: ChatStore, user: UserRef): MenuItem {
  if (store.blocked.value.has(user.id)) {
    return { label: `Unblock @${user.username}`, onSelect: () => void store.unblock(user) };
  }
  return {
    label: `Block @${user.username}`,
    danger: true,
    onSelect: () => {
      const ask = `Block @${user.username}? They will not be able to message you directly.`;
      if (window.confirm(ask)) void store.block(user);
    },
  };
}
