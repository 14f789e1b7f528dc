// Application drafts kept on the phone (IndexedDB), so nothing typed or chosen is lost to a
// closed tab, a dead battery or a lost signal. A draft gets its Idempotency-Key when it is made;
// every attempt to submit it, now or when the phone is back online, uses that same key, so the
// mall records it once however often it is sent.
import { createStore, del, get, keys, set } from "idb-keyval";
import { useEffect, useState } from "preact/hooks";
import { ApiError, ok, upload, type Schemas } from "../lib/api";
import { loc, type Localized } from "../lib/i18n";
import { api, session } from "./session";

const store = createStore("mpp-citizen", "drafts");

export type DraftFile = {
  key: string; // Idempotency-Key of its upload
  name: string;
  size: number;
  blob?: Blob; // kept until the upload succeeds
  // Photos of one document's pages, in order: sent together when the application is, and kept
  // as one PDF by the mall. Kept on the phone until the application is sent (a page may be
  // added after an upload: the pages then go again, under a new key).
  pages?: Blob[];
  page_count?: number;
  document_id?: string;
  status: "waiting" | "uploading" | "pending" | "available" | "rejected";
  reason?: Localized;
};

export type Draft = {
  key: string;
  service: string;
  service_name: Localized;
  form: Record<string, unknown>;
  files: Record<string, DraftFile[]>;
  state: "editing" | "queued" | "sending" | "sent" | "failed";
  error?: string;
  errors?: { field: string; message: string; label?: string }[];
  application_id?: string;
  tracking_number?: string;
  check_code?: string;
  updated_at: string;
};

export function newKey(): string {
  return crypto.randomUUID();
}

export function emptyDraft(service: string, service_name: Localized): Draft {
  return { key: newKey(), service, service_name, form: {}, files: {}, state: "editing", updated_at: new Date().toISOString() };
}

export async function loadDraft(service: string): Promise<Draft | undefined> {
  return get<Draft>(service, store);
}

export async function saveDraft(draft: Draft): Promise<void> {
  draft.updated_at = new Date().toISOString();
  await set(draft.service, draft, store);
  notify();
}

export async function removeDraft(service: string): Promise<void> {
  await del(service, store);
  notify();
}

export async function allDrafts(): Promise<Draft[]> {
  const found = await Promise.all((await keys(store)).map((key) => get<Draft>(key, store)));
  return found.filter((draft): draft is Draft => draft !== undefined);
}

/** Forget every draft (on signing out: the phone may be shared). */
export async function clearDrafts(): Promise<void> {
  await Promise.all((await keys(store)).map((key) => del(key, store)));
  notify();
}

// ---- uploads ---------------------------------------------------------------------------------

type DocumentView = Schemas["DocumentView"];

/** Upload one file of a draft (again with the same key if an earlier try was cut off). */
async function uploadFile(draft: Draft, requirement: string, file: DraftFile, onProgress: (fraction: number) => void): Promise<void> {
  if (file.document_id || !(file.blob || file.pages?.length)) return;
  const form = new FormData();
  if (file.pages) {
    file.pages.forEach((page, i) => form.append("pages", page, `halaman-${i + 1}.jpg`));
    form.append("filename", file.name);
  } else if (file.blob) form.append("file", file.blob, file.name);
  form.append("service", draft.service);
  form.append("requirement", requirement);
  file.status = "uploading";
  const done = await upload<DocumentView>(session, file.pages ? "/documents/pages" : "/documents", form, onProgress, file.key);
  file.document_id = done.id;
  file.status = done.status === "available" ? "available" : done.status === "rejected" ? "rejected" : "pending";
  file.reason = reasonOf(done);
  if (file.status !== "rejected") file.blob = undefined; // the mall has it now
}

/** Upload the files the mall does not have yet, saving the draft after each. A file that fails
 * stays on the phone ("waiting") for the next try, and the error is thrown. Photos of pages go
 * only `withPages` (when the application is sent: more pages may come until then). */
export async function uploadPending(
  draft: Draft,
  onProgress: (file: DraftFile, fraction: number) => void = () => undefined,
  onEach: () => void = () => undefined,
  withPages = true,
): Promise<void> {
  for (const [requirement, files] of Object.entries(draft.files)) {
    for (const file of files) {
      if (file.document_id || !(file.blob || (withPages && file.pages?.length))) continue;
      try {
        await uploadFile(draft, requirement, file, (fraction) => onProgress(file, fraction));
      } catch (failure) {
        file.status = "waiting";
        throw failure;
      } finally {
        await saveDraft(draft);
        onEach();
      }
    }
  }
}

function reasonOf(document: DocumentView): Localized | undefined {
  return (document.reason as Localized | null | undefined) ?? undefined;
}

/** Wait until the documents service has checked the uploaded files (a few seconds). */
async function waitChecked(draft: Draft): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (const file of Object.values(draft.files).flat()) {
    while (file.document_id && file.status === "pending" && Date.now() < deadline) {
      const found = await ok(api.GET("/api/v1/documents/{document_id}", { params: { path: { document_id: file.document_id } } }));
      if (found.status === "available") file.status = "available";
      else if (found.status === "rejected") {
        file.status = "rejected";
        file.reason = reasonOf(found);
      } else await sleep(1000);
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- submission ------------------------------------------------------------------------------

type Application = Schemas["Application"];

/** Upload what is left, then submit the draft with its own key. Offline: it stays queued. */
const inFlight = new Set<string>();

export async function submit(draft: Draft): Promise<Application | undefined> {
  if (inFlight.has(draft.key)) return undefined; // already on its way (the outbox or the page)
  inFlight.add(draft.key);
  try {
    return await send(draft);
  } finally {
    inFlight.delete(draft.key);
  }
}

async function send(draft: Draft): Promise<Application> {
  draft.state = "sending";
  draft.error = undefined;
  draft.errors = undefined;
  await saveDraft(draft);
  try {
    await uploadPending(draft);
    await waitChecked(draft);
    const rejected = Object.values(draft.files).flat().find((file) => file.status === "rejected");
    if (rejected) throw new ApiError(422, `${rejected.name}: ${loc(rejected.reason)}`, "document-rejected");
    const documents = Object.fromEntries(
      Object.entries(draft.files).map(([requirement, files]) => [requirement, files.flatMap((f) => (f.document_id ? [f.document_id] : []))]),
    );
    const application = await submitWithRetry(draft, { service: draft.service, form: draft.form, documents });
    draft.state = "sent";
    for (const file of Object.values(draft.files).flat()) {
      if (file.pages) [file.page_count, file.pages] = [file.pages.length, undefined]; // the mall has them
    }
    draft.application_id = application.id;
    draft.tracking_number = application.tracking_number;
    draft.check_code = application.check_code;
    await saveDraft(draft);
    return application;
  } catch (error) {
    if (error instanceof ApiError && error.offline) {
      draft.state = "queued";
    } else {
      draft.state = "failed";
      draft.error = error instanceof Error ? error.message : String(error);
      draft.errors = error instanceof ApiError ? error.errors : undefined;
    }
    await saveDraft(draft);
    throw error;
  }
}

async function submitWithRetry(draft: Draft, body: Schemas["Submission"]): Promise<Application> {
  // The same key makes a retry (after a lost answer) safe; a document uploaded a moment ago is
  // waited for by the service, not refused.
  return ok(api.POST("/api/v1/applications", { body, params: { header: { "Idempotency-Key": draft.key } } }));
}

// ---- the outbox: queued drafts go out when the phone is online ---------------------------------

const listeners = new Set<(queued: number) => void>();
const changes = new Set<() => void>();
let flushing = false;

/** Called after any draft changed (a page shows what the outbox did meanwhile). */
export function onDraftsChanged(listener: () => void): () => void {
  changes.add(listener);
  return () => void changes.delete(listener);
}

async function queued(): Promise<Draft[]> {
  return (await allDrafts()).filter((draft) => draft.state === "queued" || draft.state === "sending");
}

function notify(): void {
  changes.forEach((listener) => listener());
  void queued().then((found) => listeners.forEach((listener) => listener(found.length)));
}

let retry: ReturnType<typeof setTimeout> | undefined;
let pause = 5_000;

export async function flush(): Promise<void> {
  if (flushing || !navigator.onLine || !session.signedIn) return;
  flushing = true;
  clearTimeout(retry);
  try {
    for (const draft of await queued()) {
      await submit(draft).catch(() => undefined); // its state tells what happened
    }
  } finally {
    flushing = false;
    notify();
  }
  // "Online" yet the request failed: a weak signal. Try again soon, then less often.
  if ((await queued()).length > 0) {
    retry = setTimeout(() => void flush(), pause);
    pause = Math.min(pause * 2, 60_000);
  } else pause = 5_000;
}

export function startOutbox(): void {
  addEventListener("online", () => void flush());
  session.onChange(() => void flush());
  void flush();
}

/** How many drafts wait to be sent. */
export function useOutboxStatus(): number {
  const [count, setCount] = useState(0);
  useEffect(() => {
    listeners.add(setCount);
    notify();
    return () => void listeners.delete(setCount);
  }, []);
  return count;
}
