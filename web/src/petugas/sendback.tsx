// Sending an application back to the citizen: the officer ticks the form answers to correct and
// the documents to replace, with a note for each (and a general note if needed). The citizen can
// then change exactly those, and the history shows what changed.
import { useEffect, useId, useRef, useState } from "preact/hooks";
import { ApiError, type Schemas } from "../lib/api";
import { fieldsOf, labelOf, type FormSchema } from "../lib/formats";
import { loc, t } from "../lib/i18n";
import { ErrorBox } from "../lib/ui";
import { api, ok } from "./session";

type Application = Schemas["Application"];
type Action = Schemas["Action"];
type Service = Schemas["Service"];
type Item = { kind: "field" | "requirement"; name: string; label: string; current?: string };

const NOTE_MAX = 2000;

function itemsOf(application: Application, service: Service): Item[] {
  const schema = (service.form_schema ?? {}) as FormSchema;
  const fields = fieldsOf(schema).map(([name, property]): Item => {
    const value = application.form[name];
    const current = value === undefined || value === null || value === "" ? "—" : typeof value === "object" ? JSON.stringify(value) : String(value);
    return { kind: "field", name, label: loc(labelOf(name, property)), current };
  });
  const requirements = service.standard.requirements.map((r): Item => ({ kind: "requirement", name: r.code, label: loc(r.name) }));
  return [...fields, ...requirements];
}

export function SendBackDialog({
  application,
  service,
  action,
  note: initialNote,
  onDone,
  onStale,
  onClose,
}: {
  application: Application;
  service: Service;
  action: Action;
  note: string;
  onDone: (updated: Application, action: Action) => void;
  onStale: () => void;
  onClose: () => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const id = useId();
  const items = itemsOf(application, service);
  const [ticked, setTicked] = useState<Record<string, string>>({});
  const [note, setNote] = useState(initialNote);
  const [problem, setProblem] = useState("");
  const [missing, setMissing] = useState<string[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    const shown = dialog.current;
    shown?.showModal();
    return () => shown?.close();
  }, []);
  const key = (item: Item) => `${item.kind}:${item.name}`;

  const send = async () => {
    const chosen = items.filter((item) => key(item) in ticked);
    const unexplained = chosen.filter((item) => !ticked[key(item)].trim()).map(key);
    setMissing(unexplained);
    if (!chosen.length && !note.trim()) {
      setProblem(t("Centang yang harus diperbaiki warga, atau tulis catatan.", "Tick what the citizen must fix, or write a note."));
      return;
    }
    if (unexplained.length) {
      setProblem(t("Tulis catatan untuk setiap butir yang dicentang.", "Write a note for each ticked item."));
      document.getElementById(`${id}-${unexplained[0]}`)?.focus();
      return;
    }
    setProblem("");
    setError(null);
    setBusy(true);
    try {
      const updated = await ok(
        api.POST("/api/v1/applications/{application_id}/actions/{action}", {
          params: { path: { application_id: application.id, action: action.code } },
          body: {
            note: note.trim() || null,
            revision: chosen.map((item) => ({ kind: item.kind, name: item.name, note: ticked[key(item)].trim() })),
          },
        }),
      );
      onDone(updated, action);
    } catch (failure) {
      setError(failure);
      if (failure instanceof ApiError && failure.status === 409) onStale();
    } finally {
      setBusy(false);
    }
  };

  const group = (kind: Item["kind"], legend: string) => {
    const mine = items.filter((item) => item.kind === kind);
    if (!mine.length) return null;
    return (
      <fieldset class="sendback-group">
        <legend>{legend}</legend>
        {mine.map((item) => {
          const k = key(item);
          const chosen = k in ticked;
          const invalid = missing.includes(k) && !ticked[k]?.trim();
          return (
            <div key={k} class="sendback-item">
              <label class="choice">
                <input
                  type="checkbox"
                  checked={chosen}
                  onChange={(e) => {
                    const next = { ...ticked };
                    if (e.currentTarget.checked) next[k] = "";
                    else delete next[k];
                    setTicked(next);
                  }}
                />
                <span>
                  {item.label}
                  {item.current !== undefined && <span class="muted small"> · {item.current}</span>}
                </span>
              </label>
              {chosen && (
                <div class={invalid ? "field invalid" : "field"}>
                  <label for={`${id}-${k}`}>{t(`Catatan: ${item.label}`, `Note: ${item.label}`)}</label>
                  <textarea
                    id={`${id}-${k}`}
                    rows={2}
                    maxLength={NOTE_MAX}
                    value={ticked[k]}
                    aria-invalid={invalid ? true : undefined}
                    onInput={(e) => setTicked({ ...ticked, [k]: e.currentTarget.value })}
                  />
                </div>
              )}
            </div>
          );
        })}
      </fieldset>
    );
  };

  return (
    <dialog ref={dialog} class="confirm sendback" aria-labelledby={`${id}-title`} onClose={onClose}>
      <form method="dialog">
        <h2 id={`${id}-title`}>{t(`${loc(action.label)}: ${application.tracking_number}`, `${loc(action.label)}: ${application.tracking_number}`)}</h2>
        <p class="small">
          {t(
            "Centang isian yang harus dibetulkan dan dokumen yang harus diganti, dengan catatan untuk masing-masing. Warga hanya dapat mengubah yang dicentang.",
            "Tick the answers to correct and the documents to replace, with a note for each. The citizen can change only what is ticked.",
          )}
        </p>
        {group("field", t("Isian formulir", "Form answers"))}
        {group("requirement", t("Dokumen persyaratan", "Required documents"))}
        <div class="field">
          <label for={`${id}-note`}>{t("Catatan umum (tidak wajib)", "General note (optional)")}</label>
          <textarea id={`${id}-note`} rows={2} maxLength={NOTE_MAX} value={note} onInput={(e) => setNote(e.currentTarget.value)} />
        </div>
        {problem && (
          <p class="field-error" role="alert">
            {problem}
          </p>
        )}
        <ErrorBox error={error} />
        <div class="row confirm-buttons">
          <button type="submit" value="cancel">
            {t("Kembali", "Go back")}
          </button>
          <button type="button" class="primary" disabled={busy} onClick={() => void send()}>
            {busy ? t("Mengirim…", "Sending…") : t("Kirim ke warga", "Send to the citizen")}
          </button>
        </div>
      </form>
    </dialog>
  );
}
