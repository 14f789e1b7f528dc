// The workflow actions the officer may take now, with a note (required by some actions).
// Two officers may act at once: the one who loses gets the API's explanation and fresh data.
// A step that ends the application asks first: "Setujui" turns into "Selesaikan" in the same
// place, and a double click must not issue the document.
import { useRef, useState } from "preact/hooks";
import { ApiError, type Schemas } from "../lib/api";
import { loc, t } from "../lib/i18n";
import { ConfirmDialog, ErrorBox, Field } from "../lib/ui";
import { SendBackDialog } from "./sendback";
import { api, ok } from "./session";

type Application = Schemas["Application"];
type Action = Schemas["Action"];
type Workflow = Schemas["Workflow"] | null;
type Service = Schemas["Service"] | null;

const NOTE_MAX = 2000;

function targetOf(action: Action, workflow: Workflow) {
  const step = workflow?.actions.find((a) => a.code === action.code);
  return workflow?.states.find((s) => s.code === step?.to_state);
}

/** Whether the action ends the application (the workflow says; "complete" while it is loading). */
function final(action: Action, workflow: Workflow): boolean {
  const target = targetOf(action, workflow);
  return target ? Boolean(target.terminal) : action.code === "complete";
}

/** Whether the action sends the application back to the citizen to fix (the state it enters
 *  lets documents and answers be changed): the officer then names what must be fixed. */
function sendsBack(action: Action, workflow: Workflow): boolean {
  return Boolean(targetOf(action, workflow)?.documents_replaceable);
}

/** Looks of an action's button: finishing steps stand out, refusals warn. */
function tone(action: Action, workflow: Workflow): string {
  const target = targetOf(action, workflow);
  if (target?.terminal && action.requires_note) return "danger";
  if (action.requires_note) return "";
  return "primary";
}

export function ActionPanel({
  application,
  workflow,
  service = null,
  onDone,
  onStale,
}: {
  application: Application;
  workflow: Workflow;
  service?: Service;
  onDone: (updated: Application, action: Action) => void;
  onStale: () => void;
}) {
  const [note, setNote] = useState("");
  const [noteError, setNoteError] = useState("");
  const [pending, setPending] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [asking, setAsking] = useState<Action | null>(null);
  const [sendingBack, setSendingBack] = useState<Action | null>(null);
  const busy = pending !== "";
  const noteBox = useRef<HTMLTextAreaElement>(null);
  // The way forward first, then sending back, then refusals.
  const rank = (action: Action) => ["primary", "", "danger"].indexOf(tone(action, workflow));
  const actions = [...application.actions].sort((a, b) => rank(a) - rank(b));
  const needNote = actions.filter((a) => a.requires_note);

  if (actions.length === 0) {
    return (
      <>
        <ErrorBox error={error} />
        <p class="muted">
          {application.state.terminal
            ? t("Permohonan ini sudah selesai diproses.", "This application is finished.")
            : t("Tidak ada tindakan untuk Anda pada status ini.", "There is nothing for you to do in this state.")}
        </p>
      </>
    );
  }

  const act = async (action: Action, confirmed = false) => {
    const text = note.trim();
    setError(null);
    if (service && sendsBack(action, workflow)) {
      setNoteError("");
      setSendingBack(action); // names what to fix, each with its note
      return;
    }
    if (action.requires_note && !text) {
      setNoteError(t(`Tulis catatan untuk "${loc(action.label)}": warga akan membacanya.`, `Write a note for "${loc(action.label)}": the citizen will read it.`));
      noteBox.current?.focus();
      return;
    }
    setNoteError("");
    if (final(action, workflow) && !confirmed) {
      setAsking(action);
      return;
    }
    setPending(action.code);
    try {
      const updated = await ok(
        api.POST("/api/v1/applications/{application_id}/actions/{action}", {
          params: { path: { application_id: application.id, action: action.code } },
          body: { note: text || null },
        }),
      );
      setNote("");
      onDone(updated, action);
    } catch (failure) {
      setError(failure);
      // Someone else acted meanwhile: show the API's words and what the application is now.
      if (failure instanceof ApiError && failure.status === 409) onStale();
    } finally {
      setPending("");
    }
  };

  const stale = error instanceof ApiError && error.status === 409;
  const noteField = error instanceof ApiError ? error.errors.find((e) => e.field.split(".").pop() === "note") : undefined;

  return (
    <>
      <form class="actions" onSubmit={(e) => e.preventDefault()}>
        <Field
          label={needNote.length ? t("Catatan untuk warga", "Note for the citizen") : t("Catatan (opsional)", "Note (optional)")}
          hint={
            needNote.length
              ? t(`Wajib untuk: ${needNote.map((a) => loc(a.label)).join(", ")}.`, `Required for: ${needNote.map((a) => loc(a.label)).join(", ")}.`)
              : undefined
          }
          error={noteError || noteField?.message}
        >
          {(p) => (
            <textarea
              {...p}
              ref={noteBox}
              name="note"
              rows={3}
              maxLength={NOTE_MAX}
              value={note}
              onInput={(e) => {
                setNote(e.currentTarget.value);
                if (noteError) setNoteError("");
              }}
            />
          )}
        </Field>
        {!noteField && <ErrorBox error={error} />}
        {stale && (
          <p class="notice small">
            {t("Data permohonan telah dimuat ulang. Periksa statusnya lalu coba lagi bila perlu.", "The application was reloaded. Check its state and try again if needed.")}
          </p>
        )}
        <div class="action-buttons">
          {actions.map((action) => (
            <button
              key={action.code}
              type="button"
              class={tone(action, workflow)}
              disabled={busy}
              onClick={() => void act(action)}
            >
              {pending === action.code ? t("Memproses…", "Working…") : loc(action.label)}
            </button>
          ))}
        </div>
      </form>
      {sendingBack && service && (
        <SendBackDialog
          application={application}
          service={service}
          action={sendingBack}
          note={note}
          onDone={(updated, action) => {
            setSendingBack(null);
            setNote("");
            onDone(updated, action);
          }}
          onStale={onStale}
          onClose={() => setSendingBack(null)}
        />
      )}
      {asking && (
        <ConfirmDialog
          title={t(`"${loc(asking.label)}" untuk ${application.tracking_number}?`, `"${loc(asking.label)}" for ${application.tracking_number}?`)}
          confirm={t(`Ya, ${loc(asking.label).toLowerCase()}`, `Yes, ${loc(asking.label).toLowerCase()}`)}
          cancel={t("Kembali", "Go back")}
          onConfirm={() => {
            const action = asking;
            setAsking(null);
            void act(action, true);
          }}
          onClose={() => setAsking(null)}
        >
          <Consequence action={asking} workflow={workflow} />
        </ConfirmDialog>
      )}
    </>
  );
}

/** What a final step does, in words, before the officer confirms it. */
function Consequence({ action, workflow }: { action: Action; workflow: Workflow }) {
  const target = targetOf(action, workflow);
  const state = target ? loc(target.label) : t("Selesai", "Completed");
  const code = target?.code ?? "completed";
  return (
    <>
      <p>
        {t(`Status permohonan menjadi "${state}" dan permohonan ditutup.`, `The application becomes "${state}" and is closed.`)}{" "}
        {code === "completed" &&
          t("Dokumen hasil layanan diterbitkan atas nama instansi Anda dan warga diberi tahu.", "The service's document is issued in your agency's name and the citizen is told.")}
        {code === "rejected" && t("Warga diberi tahu beserta catatan Anda.", "The citizen is told, with your note.")}
      </p>
      <p>{t("Langkah ini tidak dapat dibatalkan.", "This cannot be undone.")}</p>
    </>
  );
}
