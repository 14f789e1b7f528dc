// Messages from the mall: the in-app copy of every notification.
import { useState } from "preact/hooks";
import { ok, type Schemas } from "../../lib/api";
import { dateTime, t } from "../../lib/i18n";
import { ErrorBox, Loading, MoreButton, usePaged } from "../../lib/ui";
import { api } from "../session";

type Item = Schemas["InboxItem"];

// A link in a message, without the stop or bracket that may follow it in the sentence.
const LINK = /https?:\/\/[^\s<>"]+[^\s<>".,;:!?)]/g;

/** A message's text with its links made links: those to this app open here, as its pages. */
function Linked({ text }: { text: string }) {
  const parts: (string | { href: string; label: string })[] = [];
  let from = 0;
  for (const found of text.matchAll(LINK)) {
    parts.push(text.slice(from, found.index));
    const url = new URL(found[0]);
    const href = url.origin === location.origin ? `${url.pathname}${url.search}` : found[0];
    parts.push({ href, label: found[0] });
    from = (found.index ?? 0) + found[0].length;
  }
  parts.push(text.slice(from));
  return <>{parts.map((part, i) => (typeof part === "string" ? part : <a key={i} href={part.href}>{part.label}</a>))}</>;
}

export function Inbox() {
  const first = usePaged<Item, Schemas["NotificationsInbox"]>((cursor) => ok(api.GET("/api/v1/notifications", { params: { query: { limit: 20, cursor } } })), []);
  const { items, setItems } = first;
  // The count came with the first page: lower it by what was opened here since.
  const [readHere, setReadHere] = useState(0);
  const markRead = async (item: Item) => {
    if (item.read_at) return;
    const marked = await ok(api.POST("/api/v1/notifications/{message_id}/read", { params: { path: { message_id: item.id } } })).then(
      () => true,
      () => false, // offline: it stays new, and opening it again tries again
    );
    if (!marked) return;
    setItems((shown) => shown.map((i) => (i.id === item.id ? { ...i, read_at: new Date().toISOString() } : i)));
    setReadHere((count) => count + 1);
  };
  const unread = first.data ? Math.max(0, first.data.unread - readHere) : 0;
  return (
    <section>
      <h1>{t("Pesan", "Inbox")}</h1>
      <ErrorBox error={first.error} />
      {first.loading && <Loading />}
      {first.data && <p class="small muted">{t(`${unread} belum dibaca`, `${unread} unread`)}</p>}
      {!first.loading && !first.error && items.length === 0 && <p class="muted">{t("Belum ada pesan.", "No messages yet.")}</p>}
      <ul class="list">
        {items.map((item) => (
          <li key={item.id} class={item.read_at ? "" : "unread"}>
            <details onToggle={(e) => (e.currentTarget as HTMLDetailsElement).open && void markRead(item)}>
              <summary>
                <strong>{item.subject ?? item.text.slice(0, 60)}</strong>
                {!item.read_at && <span class="badge">{t("baru", "new")}</span>}
                <time class="small muted" dateTime={item.created_at}>
                  {dateTime(item.created_at)}
                </time>
              </summary>
              <p class="message">
                <Linked text={item.text} />
              </p>
            </details>
          </li>
        ))}
      </ul>
      <MoreButton more={first.more} />
    </section>
  );
}
