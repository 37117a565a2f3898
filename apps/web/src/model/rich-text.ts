// Message text as runs to render: plain text, links (http/https only, shown as they
// were typed) and @mentions. A mention is highlighted only when the server listed the
// user in `message.mentions` (docs/design.md §10), never guessed from the text.
export type TextRun =
  | { kind: 'text'; text: string }
  | { kind: 'link'; text: string; href: string }
  | { kind: 'mention'; text: string; username: string; isMe: boolean };

// A mention as the server reads it (§10.1): no letter, digit or `_.@+-` right before the `@`.
const TOKEN =
  /(https?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]}])|(?<![\p{L}\p{N}_.@+-])@([a-z0-9_.-]{1,40})/giu;

export function textRuns(
  text: string,
  mentioned: ReadonlySet<string> = new Set(),
  myUsername?: string,
): TextRun[] {
  const runs: TextRun[] = [];
  let last = 0;
  for (const match of text.matchAll(TOKEN)) {
    const [, url, username] = match;
    let whole = match[0];
    const start = match.index;
    let name = username?.toLowerCase();
    // "thanks @bob." mentions bob: as the server does, a name that is no mention as
    // written is tried again without its trailing dots and dashes.
    if (name !== undefined && !mentioned.has(name)) {
      const trimmed = name.replace(/[.-]+$/, '');
      if (mentioned.has(trimmed)) {
        whole = whole.slice(0, 1 + trimmed.length);
        name = trimmed;
      }
    }
    if (url === undefined && (name === undefined || !mentioned.has(name))) continue;
    if (start > last) runs.push({ kind: 'text', text: text.slice(last, start) });
    if (url !== undefined) runs.push({ kind: 'link', text: url, href: url });
    else if (name !== undefined)
      runs.push({ kind: 'mention', text: whole, username: name, isMe: name === myUsername });
    last = start + whole.length;
  }
  if (last < text.length) runs.push({ kind: 'text', text: text.slice(last) });
  return runs;
}
