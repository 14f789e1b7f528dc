// Small pieces every app uses: labelled fields, errors announced to screen readers, the
// language switch, loading of API data, and the staff sign-in form.
import type { ComponentChildren, JSX } from "preact";
import { useCallback, useEffect, useId, useRef, useState } from "preact/hooks";
import { ApiError, type Session } from "./api";
import { lang, setLang, t } from "./i18n";

/** An error and each field at fault, named by its label (from the API, or `labels` by field
 * key), never by its key. */
export function ErrorBox({ error, labels }: { error: unknown; labels?: Record<string, string> }) {
  if (!error) return null;
  const message = error instanceof Error ? error.message : String(error);
  const fields = error instanceof ApiError || (error instanceof Error && Array.isArray((error as ApiError).errors)) ? (error as ApiError).errors : [];
  return (
    <div class="error" role="alert">
      <p>{message}</p>
      {fields.length > 0 && (
        <ul>
          {fields.map((f) => {
            const label = f.label || labels?.[f.field];
            return (
              <li key={f.field}>
                {label ? <strong>{label}: </strong> : null}
                {f.message}
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}

export type Problem = { id: string; label: string; message: string };

/** Every problem of a form at once, before sending: a summary that takes the focus, each item a
 * link to its field (whose own message sits beside it). */
export function ErrorSummary({ problems, attempt, title }: { problems: Problem[]; attempt: number; title?: string }) {
  const box = useRef<HTMLDivElement>(null);
  const count = problems.length;
  useEffect(() => {
    if (attempt) box.current?.focus(); // each refused attempt: read out again
  }, [attempt]);
  if (!count) return null;
  return (
    <div class="error summary" role="alert" tabIndex={-1} ref={box}>
      <p>
        <strong>{title ?? t(`Periksa ${count} isian berikut:`, count === 1 ? "Check this field:" : `Check these ${count} fields:`)}</strong>
      </p>
      <ul>
        {problems.map((p) => (
          <li key={p.id}>
            <a
              href={`#${p.id}`}
              onClick={(e) => {
                e.preventDefault();
                const field = document.getElementById(p.id);
                field?.scrollIntoView({ block: "center" });
                field?.focus();
              }}
            >
              {p.label}
            </a>
            : {p.message}
          </li>
        ))}
      </ul>
    </div>
  );
}

export function Loading({ label }: { label?: string }) {
  return (
    <p class="loading" role="status" aria-live="polite">
      {label ?? t("Memuat…", "Loading…")}
    </p>
  );
}

type FieldProps = {
  /** The input's id, where something links to it (an error summary); else one of its own. */
  id?: string;
  label: string;
  hint?: string;
  error?: string;
  children: (props: { id: string; "aria-describedby"?: string; "aria-invalid"?: boolean }) => JSX.Element;
};

/** A label tied to its input, with a hint and an error both read out by screen readers. */
export function Field({ id: given, label, hint, error, children }: FieldProps) {
  const generated = useId();
  const id = given ?? generated;
  const described = [hint && `${id}-hint`, error && `${id}-error`].filter(Boolean).join(" ") || undefined;
  return (
    <div class={error ? "field invalid" : "field"}>
      <label for={id}>{label}</label>
      {hint && (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {children({ id, "aria-describedby": described, "aria-invalid": error ? true : undefined })}
      {error && (
        <p class="field-error" id={`${id}-error`}>
          {error}
        </p>
      )}
    </div>
  );
}

/** The other language's code, named in that language; the name begins with the code shown, so
 * voice control ("click EN") and screen readers agree with the eye (WCAG 2.5.3). */
export function LangSwitch() {
  const other = lang === "id" ? "en" : "id";
  const code = other.toUpperCase();
  return (
    <button type="button" class="lang" lang={other} onClick={() => setLang(other)} aria-label={`${code}: ${other === "en" ? "Switch to English" : "Ganti ke Bahasa Indonesia"}`}>
      {code}
    </button>
  );
}

type ConfirmProps = { title: string; confirm: string; cancel: string; onConfirm: () => void; onClose: () => void; children: ComponentChildren };

/** Asks before what cannot be undone: a modal dialog (focus stays inside it) that opens on the
 * safe choice; Escape and that choice close it and nothing happens. */
export function ConfirmDialog({ title, confirm, cancel, onConfirm, onClose, children }: ConfirmProps) {
  const dialog = useRef<HTMLDialogElement>(null);
  const id = useId();
  useEffect(() => {
    const shown = dialog.current;
    shown?.showModal();
    return () => shown?.close();
  }, []);
  return (
    <dialog ref={dialog} class="confirm" aria-labelledby={`${id}-title`} aria-describedby={`${id}-text`} onClose={onClose}>
      <form method="dialog">
        <h2 id={`${id}-title`}>{title}</h2>
        <div id={`${id}-text`}>{children}</div>
        <div class="row confirm-buttons">
          <button type="submit" value="cancel" autofocus>
            {cancel}
          </button>
          <button type="button" class="danger solid" onClick={onConfirm}>
            {confirm}
          </button>
        </div>
      </form>
    </dialog>
  );
}

export type Loaded<T> = { data: T | undefined; error: unknown; loading: boolean; reload: () => void };

/** Loads data when the inputs change; keeps the last data while reloading. */
export function useLoad<T>(load: () => Promise<T>, inputs: unknown[]): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [round, setRound] = useState(0);
  const latest = useRef(0);
  useEffect(() => {
    const mine = ++latest.current;
    setLoading(true);
    load().then(
      (value) => mine === latest.current && (setData(value), setError(null), setLoading(false)),
      (failure) => mine === latest.current && (setError(failure), setLoading(false)),
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...inputs, round]);
  const reload = useCallback(() => setRound((r) => r + 1), []);
  return { data, error, loading, reload };
}

/** Runs an action once at a time, keeping its error to show. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = useCallback(async <T,>(action: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true);
    setError(null);
    try {
      return await action();
    } catch (failure) {
      setError(failure);
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, setError, run };
}

/** Sign-in for staff (username and password). */
export function StaffSignIn({ session, title, children }: { session: Session; title: string; children?: ComponentChildren }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const { busy, error, run } = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    void run(() => session.signIn(username.trim(), password));
  };
  return (
    <main class="signin" id="main">
      <h1>{title}</h1>
      {children}
      <form onSubmit={submit} class="card">
        <Field label={t("Nama pengguna", "Username")}>
          {(p) => <input {...p} name="username" autocomplete="username" required value={username} onInput={(e) => setUsername(e.currentTarget.value)} />}
        </Field>
        <Field label={t("Kata sandi", "Password")}>
          {(p) => <input {...p} name="password" type="password" autocomplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />}
        </Field>
        <ErrorBox error={error} />
        <button type="submit" class="primary" disabled={busy}>
          {busy ? t("Memeriksa…", "Checking…") : t("Masuk", "Sign in")}
        </button>
      </form>
      <p class="center">
        <LangSwitch />
      </p>
    </main>
  );
}

export function SkipLink() {
  return (
    <a class="skip" href="#main">
      {t("Langsung ke isi", "Skip to content")}
    </a>
  );
}

type Page<T> = { items: T[]; next_cursor?: string | null };

/** A list read page by page (`?cursor=`): the first page when the inputs change, then more on
 * demand. `more` is null when there is nothing more. */
export function usePaged<T, P extends Page<T>>(load: (cursor?: string) => Promise<P>, inputs: unknown[]) {
  const [items, setItems] = useState<T[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const first = useLoad(async () => {
    const page = await load();
    setItems(page.items);
    setCursor(page.next_cursor ?? null);
    return page;
  }, inputs);
  const more = async () => {
    const page = await load(cursor ?? undefined);
    setItems((shown) => [...shown, ...page.items]);
    setCursor(page.next_cursor ?? null);
  };
  return { ...first, items, setItems, more: cursor ? more : null };
}

/** "Show more" under a paged list; a failure (offline) is shown, not thrown. */
export function MoreButton({ more }: { more: (() => Promise<void>) | null }) {
  const { busy, error, run } = useAction();
  if (!more) return null;
  return (
    <>
      <ErrorBox error={error} />
      <button type="button" class="wide" disabled={busy} onClick={() => void run(more)}>
        {t("Tampilkan lebih banyak", "Show more")}
      </button>
    </>
  );
}
