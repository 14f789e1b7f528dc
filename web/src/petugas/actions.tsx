// The workflow actions the officer may take now, with a note (required by some actions).
// Two officers may act at once: the one who loses gets the API's explanation and fresh data.
import { useRef, useState } from "preact/hooks";
import { ApiError, type Schemas } from "../lib/api";
import { loc, t } from "../lib/i18n";
import { ErrorBox, Field } from "../lib/ui";
import { api, ok } from "./session";

type Application = Schemas["Application"];
type Action = Schemas["Action"];
type Workflow = Schemas["Workflow"] | null;

const NOTE_MAX = 2000;

/** Looks of an action's button: finishing steps stand out, refusals warn. */
function tone(action: Action, workflow: Workflow): string {
  const step = workflow?.actions.find((a) => a.code === action.code);
  const target = workflow?.states.find((s) => s.code === step?.to_state);
  if (target?.terminal && action.requires_note) return "danger";
  if (action.requires_note) return "";
  return "primary";
}

export function ActionPanel({
  application,
  workflow,
  onDone,
  onStale,
}: {
  application: Application;
  workflow: Workflow;
  onDone: (updated: Application, action: Action) => void;
  onStale: () => void;
}) {
  const [note, setNote] = useState("");
  const [noteError, setNoteError] = useState("");
  const [pending, setPending] = useState("");
  const [error, setError] = useState<unknown>(null);
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

  const act = async (action: Action) => {
    const text = note.trim();
    setError(null);
    if (action.requires_note && !text) {
      setNoteError(t(`Tulis catatan untuk "${loc(action.label)}": warga akan membacanya.`, `Write a note for "${loc(action.label)}": the citizen will read it.`));
      noteBox.current?.focus();
      return;
    }
    setNoteError("");
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
  );
}
