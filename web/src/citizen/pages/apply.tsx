// Apply: the form the service's schema describes and its required documents. Everything is
// saved on the phone as it is typed or chosen; files go up as soon as they are picked (with
// progress); the submission goes once, now or when the phone is back online.
import { useEffect, useRef, useState } from "preact/hooks";
import type { Schemas } from "../../lib/api";
import { loc, t } from "../../lib/i18n";
import { digitsOf, fieldsOf, formProblems, labelOf, localToday, normalisedForm, type FormSchema, type Property } from "../../lib/formats";
import { ErrorBox, ErrorSummary, Field, Loading, useLoad, type Problem } from "../../lib/ui";
import { service as loadService } from "../catalog";
import { emptyDraft, loadDraft, newKey, onDraftsChanged, removeDraft, saveDraft, submit, uploadPending, type Draft, type DraftFile } from "../drafts";

type Service = Schemas["Service"];
type Requirement = Schemas["Requirement"];
const INPUT_TYPES: Record<string, "date" | "number" | "tel" | "email"> = { date: "date", integer: "number", number: "number", phone: "tel", email: "email" };
const MIME: Record<string, string> = { pdf: "application/pdf", jpeg: "image/jpeg", png: "image/png", heic: "image/heic", webp: "image/webp" };

export function Apply({ slug }: { slug: string }) {
  const found = useLoad(() => loadService(slug), [slug]);
  const [draft, setDraft] = useState<Draft | null>(null);
  useEffect(() => {
    if (!found.data) return;
    const service = found.data;
    void loadDraft(service.slug).then((saved) => setDraft(saved ?? emptyDraft(service.slug, service.name)));
  }, [found.data]);

  if (found.error) return <ErrorBox error={found.error} />;
  if (!found.data || !draft) return <Loading />;
  return <ApplyForm service={found.data} initial={draft} />;
}

function ApplyForm({ service, initial }: { service: Service; initial: Draft }) {
  const [draft, setDraft] = useState(initial);
  const [saved, setSaved] = useState(false);
  const [progress, setProgress] = useState<Record<string, number>>({});
  const [error, setError] = useState<unknown>(null);
  const [sending, setSending] = useState(false);
  // Once a send was refused on the phone, every field is checked again as it is typed.
  const [attempt, setAttempt] = useState(0);
  const heading = useRef<HTMLHeadingElement>(null);
  const schema = (service.form_schema ?? {}) as FormSchema;
  const required = new Set(schema.required ?? []);
  const locked = draft.state === "queued" || draft.state === "sending" || draft.state === "sent";

  // Keep the latest draft on the phone (debounced), and tell the user it is safe.
  const persist = (next: Draft) => {
    if (next.state === "failed") next.state = "editing";
    setDraft({ ...next });
    setSaved(false);
  };
  useEffect(() => {
    if (draft.state !== "editing" && draft.state !== "failed") return; // the outbox owns it now
    const timer = setTimeout(() => void saveDraft(draft).then(() => setSaved(true)), 300);
    return () => clearTimeout(timer);
  }, [draft]);
  // A queued draft is sent by the outbox when the phone is online again: show what happened.
  useEffect(
    () =>
      onDraftsChanged(() => {
        if (draft.state === "queued" || draft.state === "sending") void loadDraft(draft.service).then((latest) => latest && latest.state !== draft.state && setDraft(latest));
      }),
    [draft.state],
  );

  const setValue = (name: string, value: unknown) => {
    const form = { ...draft.form };
    if (value === "" || value === undefined || (typeof value === "number" && Number.isNaN(value))) delete form[name];
    else form[name] = value;
    persist({ ...draft, form });
  };

  const pick = async (requirement: Requirement, list: FileList | null) => {
    if (!list) return;
    setError(null);
    const files = [...(draft.files[requirement.code] ?? [])];
    for (const chosen of Array.from(list)) {
      const problem = fileProblem(requirement, chosen);
      if (problem) {
        setError(new Error(`${chosen.name}: ${problem}`));
        continue;
      }
      files.push({ key: newKey(), name: chosen.name, size: chosen.size, blob: chosen, status: "waiting" });
    }
    const next = { ...draft, files: { ...draft.files, [requirement.code]: files } };
    persist(next);
    await saveDraft(next);
    if (navigator.onLine) await uploadAll(next);
  };

  const uploadAll = async (current: Draft) => {
    try {
      await uploadPending(
        current,
        (file, fraction) => setProgress((p) => ({ ...p, [file.key]: fraction })),
        () => setDraft({ ...current }),
      );
    } catch (failure) {
      // Kept on the phone and sent with the application; offline is no error to show.
      if (!(failure as { offline?: boolean }).offline) setError(failure);
    }
  };

  const removeFile = (code: string, key: string) => persist({ ...draft, files: { ...draft.files, [code]: (draft.files[code] ?? []).filter((f) => f.key !== key) } });

  // Every problem at once, checked on the phone: the form against the service's schema (the
  // server's rules and words), then each mandatory document; none costs a round trip.
  const problemsOf = (current: Draft): Problem[] => {
    const found = formProblems(schema, normalisedForm(schema, current.form));
    const fields = fieldsOf(schema)
      .filter(([name]) => found.has(name))
      .map(([name, property]) => ({ id: fieldId(name), label: loc(labelOf(name, property)), message: loc(found.get(name)) }));
    const documents = service.standard.requirements
      .filter((r) => r.mandatory && !(current.files[r.code] ?? []).length)
      .map((r) => ({ id: `file-${r.code}`, label: loc(r.name), message: t("Dokumen ini wajib diunggah.", "This document is required.") }));
    return [...fields, ...documents];
  };
  const problems = attempt ? problemsOf(draft) : [];

  const send = async (e: Event) => {
    e.preventDefault();
    setError(null);
    if (problemsOf(draft).length) {
      setAttempt((n) => n + 1);
      return;
    }
    setSending(true);
    const current: Draft = { ...draft, form: normalisedForm(schema, draft.form) };
    const sent = submit(current); // marks it "sending" at once: no typed-ahead save overwrites it
    setDraft({ ...current });
    try {
      await sent;
    } catch (failure) {
      if (!(failure as { offline?: boolean }).offline) setError(failure);
    } finally {
      setSending(false);
      setDraft({ ...current });
      heading.current?.focus();
    }
  };

  const startOver = async () => {
    await removeDraft(service.slug);
    setAttempt(0);
    setDraft(emptyDraft(service.slug, service.name));
  };

  // What the phone found, else what the server said (a draft refused while offline, say).
  const errorFor = (field: string) => problems.find((p) => p.id === (field.startsWith("form.") ? fieldId(field.slice(5)) : `file-${field.slice(10)}`))?.message ?? [...(draft.errors ?? [])].find((e) => e.field === field)?.message;
  const labels = Object.fromEntries([...fieldsOf(schema).map(([name, property]) => [`form.${name}`, loc(labelOf(name, property))]), ...service.standard.requirements.map((r) => [`documents.${r.code}`, loc(r.name)])]);

  return (
    <section>
      <p class="small">
        <a href={`/layanan/${service.slug}`}>← {loc(service.name)}</a>
      </p>
      <h1 tabIndex={-1} ref={heading}>
        {t("Ajukan", "Apply")}: {loc(service.name)}
      </h1>
      {draft.state === "sent" && (
        <div class="success" role="status">
          <p>
            <strong>{t("Permohonan terkirim.", "Application sent.")}</strong> {t("Nomor pelacakan", "Tracking number")}: <strong>{draft.tracking_number}</strong>
            {draft.check_code && (
              <>
                {" "}
                · {t("Kode lacak", "Check code")}: <strong class="mono">{draft.check_code}</strong>
              </>
            )}
          </p>
          <p class="row">
            <a class="button primary" href={`/permohonan/${draft.application_id}`}>
              {t("Lihat permohonan", "View the application")}
            </a>
            <button type="button" onClick={startOver}>
              {t("Ajukan lagi", "Apply again")}
            </button>
          </p>
        </div>
      )}
      {draft.state === "queued" && (
        <p class="notice" role="status">
          {t(
            "Tidak ada koneksi. Permohonan disimpan di ponsel dan akan dikirim otomatis sekali saja saat koneksi kembali.",
            "No connection. The application is saved on this phone and will be sent, once, as soon as the connection is back.",
          )}
        </p>
      )}
      {draft.state === "sending" && <Loading label={t("Mengirim permohonan…", "Sending the application…")} />}
      {draft.state === "failed" && draft.error && <ErrorBox labels={labels} error={Object.assign(new Error(draft.error), { errors: draft.errors ?? [] })} />}
      <ErrorSummary problems={problems} attempt={attempt} />

      <form onSubmit={send} noValidate>
        <fieldset disabled={locked}>
          <legend class="visually-hidden">{t("Isian formulir", "Form")}</legend>
          <div class="card">
            <h2>{t("Data permohonan", "Application details")}</h2>
            {fieldsOf(schema).map(([name, property]) => (
              <FormField key={name} name={name} property={property} required={required.has(name)} value={draft.form[name]} error={errorFor(`form.${name}`)} onChange={(value) => setValue(name, value)} />
            ))}
            {!Object.keys(schema.properties ?? {}).length && <p class="muted">{t("Layanan ini tidak memerlukan isian.", "This service needs no form.")}</p>}
          </div>
          <div class="card">
            <h2>{t("Dokumen", "Documents")}</h2>
            {service.standard.requirements.map((requirement) => (
              <RequirementFiles
                key={requirement.code}
                requirement={requirement}
                files={draft.files[requirement.code] ?? []}
                progress={progress}
                error={errorFor(`documents.${requirement.code}`)}
                onPick={(list) => pick(requirement, list)}
                onRemove={(key) => removeFile(requirement.code, key)}
              />
            ))}
          </div>
        </fieldset>
        <ErrorBox error={error} labels={labels} />
        {!locked && (
          <button type="submit" class="primary wide" disabled={sending}>
            {sending ? t("Mengirim…", "Sending…") : t("Kirim permohonan", "Submit the application")}
          </button>
        )}
        <p class="small muted center" role="status">
          {saved ? t("Draf tersimpan di ponsel ini.", "Draft saved on this phone.") : "\u00a0"}
        </p>
      </form>
    </section>
  );
}

function FormField({ name, property, required, value, error, onChange }: { name: string; property: Property; required: boolean; value: unknown; error?: string; onChange: (value: unknown) => void }) {
  const label = `${loc(labelOf(name, property))}${required ? " *" : ""}`;
  const id = fieldId(name);
  const input = property["x-input"] ?? "string";
  const text = value === undefined || value === null ? "" : String(value);
  if (input === "choice" && property["x-options"]) {
    return (
      <fieldset class={error ? "field invalid" : "field"}>
        <legend>{label}</legend>
        {property["x-options"].map((option, i) => (
          <label class="choice" key={option.value}>
            <input type="radio" id={i === 0 ? id : undefined} name={name} value={option.value} checked={value === option.value} required={required} onChange={() => onChange(option.value)} />
            {loc(option.label)}
          </label>
        ))}
        {error && <p class="field-error">{error}</p>}
      </fieldset>
    );
  }
  if (input === "boolean") {
    return (
      <div class="field">
        <label class="choice">
          <input type="checkbox" id={id} name={name} checked={value === true} onChange={(e) => onChange(e.currentTarget.checked)} />
          {label}
        </label>
        {error && <p class="field-error">{error}</p>}
      </div>
    );
  }
  // A NIK is never cut short as it is typed (spaces and dashes are welcome): the count says how
  // far it is.
  const typed = input === "nik" ? digitsOf(text).length : 0;
  const hint = input === "nik" ? (typed ? t(`16 angka (terisi ${typed})`, `16 digits (${typed} so far)`) : t("16 angka", "16 digits")) : input === "phone" ? t("Contoh: 0812 3456 7890", "For example 0812 3456 7890") : undefined;
  const today = property["x-when"] ? localToday() : undefined;
  return (
    <Field id={id} label={label} hint={hint} error={error}>
      {(p) =>
        input === "text" ? (
          <textarea {...p} name={name} required={required} maxLength={property.maxLength} value={text} onInput={(e) => onChange(e.currentTarget.value)} />
        ) : (
          <input
            {...p}
            name={name}
            required={required}
            // One input element for several types; Preact's typings want one literal type.
            type={(INPUT_TYPES[input] ?? "text") as "text"}
            inputMode={input === "nik" || input === "integer" ? "numeric" : input === "number" ? "decimal" : undefined}
            autocomplete={input === "nik" ? "off" : undefined}
            max={property["x-when"] === "past" ? today : undefined}
            min={property["x-when"] === "future" ? today : undefined}
            value={text}
            onInput={(e) => {
              const raw = e.currentTarget.value;
              onChange(input === "integer" ? (raw === "" ? "" : parseInt(raw, 10)) : input === "number" ? (raw === "" ? "" : parseFloat(raw)) : raw);
            }}
          />
        )
      }
    </Field>
  );
}

function RequirementFiles({ requirement, files, progress, error, onPick, onRemove }: { requirement: Requirement; files: DraftFile[]; progress: Record<string, number>; error?: string; onPick: (list: FileList | null) => void; onRemove: (key: string) => void }) {
  const id = `file-${requirement.code}`;
  const accept = requirement.formats.map((f) => MIME[f] ?? `.${f}`).join(",");
  return (
    <div class={error ? "field invalid requirement" : "field requirement"}>
      <label for={id}>
        {loc(requirement.name)}
        {requirement.mandatory ? " *" : ` (${t("tidak wajib", "optional")})`}
      </label>
      <p class="hint" id={`${id}-hint`}>
        {requirement.formats.map((f) => f.toUpperCase()).join(", ")} · {t(`maks. ${requirement.max_size_mb} MB`, `max ${requirement.max_size_mb} MB`)}
      </p>
      <ul class="files">
        {files.map((file) => (
          <li key={file.key}>
            <span class="file-name">{file.name}</span>
            <FileState file={file} fraction={progress[file.key]} />
            <button type="button" class="link" onClick={() => onRemove(file.key)} aria-label={t(`Hapus ${file.name}`, `Remove ${file.name}`)}>
              {t("Hapus", "Remove")}
            </button>
          </li>
        ))}
      </ul>
      <input id={id} type="file" accept={accept} multiple aria-describedby={`${id}-hint`} onChange={(e) => (onPick(e.currentTarget.files), (e.currentTarget.value = ""))} />
      {error && <p class="field-error">{error}</p>}
    </div>
  );
}

function FileState({ file, fraction }: { file: DraftFile; fraction?: number }) {
  if (file.status === "uploading" && fraction !== undefined && fraction < 1)
    return (
      <progress max={1} value={fraction} aria-label={t(`Mengunggah ${file.name}`, `Uploading ${file.name}`)}>
        {Math.round(fraction * 100)}%
      </progress>
    );
  const [text, tone] = {
    waiting: [t("menunggu koneksi", "waiting for a connection"), "warn"],
    uploading: [t("mengunggah…", "uploading…"), ""],
    pending: [t("diperiksa…", "being checked…"), ""],
    available: [t("terunggah", "uploaded"), "ok"],
    rejected: [`${t("ditolak", "refused")}: ${loc(file.reason)}`, "bad"],
  }[file.status];
  return <span class={`badge ${tone}`}>{text}</span>;
}

function fileProblem(requirement: Requirement, file: File): string | null {
  if (file.size > requirement.max_size_mb * 1024 * 1024) return t(`lebih dari ${requirement.max_size_mb} MB`, `larger than ${requirement.max_size_mb} MB`);
  const extension = file.name.split(".").pop()?.toLowerCase() ?? "";
  const formats = new Set(requirement.formats.flatMap((f) => (f === "jpeg" ? ["jpeg", "jpg"] : [f])));
  const byType = Object.entries(MIME).find(([, mime]) => mime === file.type)?.[0];
  if (!formats.has(extension) && !(byType && formats.has(byType))) return t(`format harus ${requirement.formats.join(", ").toUpperCase()}`, `must be ${requirement.formats.join(", ").toUpperCase()}`);
  return null;
}

/** The id of a form field's input, where the error summary links to. */
function fieldId(name: string): string {
  return `field-${name}`;
}
