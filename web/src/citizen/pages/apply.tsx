// Apply: the form the service's schema describes and its required documents. Everything is
// saved on the phone as it is typed or chosen; files go up as soon as they are picked (with
// progress); the submission goes once, now or when the phone is back online.
import { useEffect, useRef, useState } from "preact/hooks";
import type { Schemas } from "../../lib/api";
import { loc, t } from "../../lib/i18n";
import { digitsOf, fieldsOf, formProblems, labelOf, localToday, normalisedForm, type FormSchema, type Property } from "../../lib/formats";
import { ErrorBox, ErrorSummary, Field, Loading, useLoad, type Problem } from "../../lib/ui";
import { service as loadService } from "../catalog";
import { isPhoto, shrinkPhoto } from "../photos";
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
  const [shrinking, setShrinking] = useState(0);
  // Once a send was refused on the phone, every field is checked again as it is typed.
  const [attempt, setAttempt] = useState(0);
  const heading = useRef<HTMLHeadingElement>(null);
  const schema = (service.form_schema ?? {}) as FormSchema;
  const required = new Set(schema.required ?? []);
  const locked = draft.state === "queued" || draft.state === "sending" || draft.state === "sent";

  // The latest draft, for what finishes later (photos being made small) not to undo typing.
  const latest = useRef(draft);
  latest.current = draft;
  // Keep the latest draft on the phone (debounced), and tell the user it is safe.
  const persist = (next: Draft) => {
    if (next.state === "failed") next.state = "editing";
    latest.current = next;
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
    const chosen = Array.from(list);
    setShrinking((n) => n + 1);
    // Photos are made small on the phone first; for a requirement that takes PDF they are the
    // pages of one document, in the order taken, which the mall keeps as one PDF.
    const ready = await Promise.all(chosen.map((file) => (isPhoto(file) && takesPhotos(requirement) ? shrinkPhoto(file) : file))).finally(() => setShrinking((n) => n - 1));
    const current = latest.current;
    const files = [...(current.files[requirement.code] ?? [])];
    const asPages = requirement.formats.includes("pdf");
    for (const [i, file] of ready.entries()) {
      const problem = asPages && isPhoto(chosen[i]) ? pageProblem(requirement, file, files) : fileProblem(requirement, file);
      if (problem) {
        setError(new Error(`${chosen[i].name}: ${problem}`));
        continue;
      }
      if (!asPages || !isPhoto(chosen[i])) {
        files.push({ key: newKey(), name: file.name, size: file.size, blob: file, status: "waiting" });
        continue;
      }
      const at = files.findIndex((f) => f.pages);
      const pages = [...(at >= 0 ? (files[at].pages ?? []) : []), file];
      const document = pagesDocument(requirement, pages);
      if (at >= 0) files[at] = document;
      else files.push(document);
    }
    const next = { ...current, files: { ...current.files, [requirement.code]: files } };
    persist(next);
    await saveDraft(next);
    if (navigator.onLine) await uploadAll(next);
  };

  // Pages moved or removed: they make another document, sent under a new key.
  const setPages = (requirement: Requirement, pages: Blob[]) => {
    const files = (draft.files[requirement.code] ?? []).flatMap((f) => (f.pages ? (pages.length ? [pagesDocument(requirement, pages)] : []) : [f]));
    persist({ ...draft, files: { ...draft.files, [requirement.code]: files } });
  };

  const uploadAll = async (current: Draft) => {
    try {
      await uploadPending(
        current,
        (file, fraction) => setProgress((p) => ({ ...p, [file.key]: fraction })),
        () => setDraft({ ...current }),
        false,
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
                onPages={(pages) => setPages(requirement, pages)}
              />
            ))}
          </div>
        </fieldset>
        <ErrorBox error={error} labels={labels} />
        {!locked && (
          <button type="submit" class="primary wide" disabled={sending || shrinking > 0}>
            {sending ? t("Mengirim…", "Sending…") : t("Kirim permohonan", "Submit the application")}
          </button>
        )}
        <p class="small muted center" role="status">
          {shrinking ? t("Menyiapkan foto…", "Preparing the photos…") : saved ? t("Draf tersimpan di ponsel ini.", "Draft saved on this phone.") : "\u00a0"}
        </p>
      </form>
    </section>
  );
}

export function FormField({ name, property, required, value, error, onChange }: { name: string; property: Property; required: boolean; value: unknown; error?: string; onChange: (value: unknown) => void }) {
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

function RequirementFiles({ requirement, files, progress, error, onPick, onRemove, onPages }: { requirement: Requirement; files: DraftFile[]; progress: Record<string, number>; error?: string; onPick: (list: FileList | null) => void; onRemove: (key: string) => void; onPages: (pages: Blob[]) => void }) {
  const id = `file-${requirement.code}`;
  const photos = takesPhotos(requirement);
  const asPages = requirement.formats.includes("pdf");
  // Photos are taken from the gallery too (a PDF-only requirement makes them into a PDF).
  const accept = [...requirement.formats.map((f) => MIME[f] ?? `.${f}`), ...(photos ? ["image/*"] : [])].join(",");
  const picked = (e: Event) => {
    const input = e.currentTarget as HTMLInputElement;
    onPick(input.files);
    input.value = "";
  };
  // The visually hidden inputs keep the keyboard and screen readers; their labels are the
  // buttons people see and tap. Each is named by its button's words and the requirement.
  return (
    <div class={error ? "field invalid requirement" : "field requirement"}>
      <p class="requirement-name" id={`${id}-name`}>
        {loc(requirement.name)}
        {requirement.mandatory ? " *" : ` (${t("tidak wajib", "optional")})`}
      </p>
      <p class="hint" id={`${id}-hint`}>
        {requirement.formats.map((f) => f.toUpperCase()).join(", ")} · {t(`maks. ${requirement.max_size_mb} MB`, `max ${requirement.max_size_mb} MB`)}
        {photos && asPages && ` · ${t("Beberapa foto jadi satu PDF", "Several photos make one PDF")}`}
      </p>
      <ul class="files">
        {files.map((file) => (
          <li key={file.key}>
            <span class="file-name">{file.pages || file.page_count ? `${file.name} · ${t(`${file.pages?.length ?? file.page_count} halaman`, `${file.pages?.length ?? file.page_count} pages`)}` : file.name}</span>
            <FileState file={file} fraction={progress[file.key]} />
            {!file.pages && (
              <button type="button" class="link" onClick={() => onRemove(file.key)} aria-label={t(`Hapus ${file.name}`, `Remove ${file.name}`)}>
                {t("Hapus", "Remove")}
              </button>
            )}
            {file.pages && <Pages pages={file.pages} onChange={onPages} />}
          </li>
        ))}
      </ul>
      <div class="pick row">
        {photos && (
          <>
            <input id={`${id}-camera`} class="visually-hidden" type="file" accept="image/*" capture="environment" aria-label={`${t("Ambil foto", "Take a photo")} ${loc(requirement.name)}${requirement.mandatory ? " *" : ""}`} aria-describedby={`${id}-hint`} onChange={picked} />
            <label for={`${id}-camera`} class="button primary">
              <svg viewBox="0 0 24 24" aria-hidden="true">
                <path d="M3 8h3l2-3h8l2 3h3v11H3z M12 10a3.5 3.5 0 1 0 0 7a3.5 3.5 0 1 0 0-7" />
              </svg>
              {t("Ambil foto", "Take a photo")}
            </label>
          </>
        )}
        <input id={id} class="visually-hidden" type="file" accept={accept} multiple aria-labelledby={`${id}-name ${id}-pick-text`} aria-describedby={`${id}-hint`} onChange={picked} />
        <label for={id} class="button">
          <span id={`${id}-pick-text`}>{t("Pilih berkas", "Choose a file")}</span>
        </label>
      </div>
      {error && <p class="field-error">{error}</p>}
    </div>
  );
}

/** The photos of a document's pages, in order, to move up or remove before they are sent. */
function Pages({ pages, onChange }: { pages: Blob[]; onChange: (pages: Blob[]) => void }) {
  const [urls, setUrls] = useState<string[]>([]);
  useEffect(() => {
    const made = pages.map((page) => URL.createObjectURL(page));
    setUrls(made);
    return () => made.forEach((url) => URL.revokeObjectURL(url));
  }, [pages]);
  const without = (i: number) => pages.filter((_, j) => j !== i);
  const up = (i: number) => [...pages.slice(0, i - 1), pages[i], pages[i - 1], ...pages.slice(i + 1)];
  return (
    <ol class="pages" aria-label={t("Halaman", "Pages")}>
      {pages.map((_, i) => (
        <li key={urls[i] ?? i}>
          {urls[i] && <img src={urls[i]} alt="" width={48} height={64} />}
          <span class="page-number">{t(`Halaman ${i + 1}`, `Page ${i + 1}`)}</span>
          {i > 0 && (
            <button type="button" class="link" onClick={() => onChange(up(i))} aria-label={t(`Naikkan halaman ${i + 1}`, `Move page ${i + 1} up`)}>
              {t("Naikkan", "Move up")}
            </button>
          )}
          <button type="button" class="link" onClick={() => onChange(without(i))} aria-label={t(`Hapus halaman ${i + 1}`, `Remove page ${i + 1}`)}>
            {t("Hapus", "Remove")}
          </button>
        </li>
      ))}
    </ol>
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
    waiting: file.pages ? [t("dikirim bersama permohonan", "sent with the application"), ""] : [t("menunggu koneksi", "waiting for a connection"), "warn"],
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
  const formats = new Set(requirement.formats.flatMap((f) => (f === "jpeg" ? ["jpeg", "jpg", "heic", "heif"] : [f]))); // the mall makes HEIC JPEG
  const byType = Object.entries(MIME).find(([, mime]) => mime === file.type)?.[0];
  if (!formats.has(extension) && !(byType && formats.has(byType))) return t(`format harus ${requirement.formats.join(", ").toUpperCase()}`, `must be ${requirement.formats.join(", ").toUpperCase()}`);
  return null;
}

/** Whether photos suit the requirement: as JPEG themselves, or as pages of a PDF. */
function takesPhotos(requirement: Requirement): boolean {
  return requirement.formats.includes("jpeg") || requirement.formats.includes("pdf");
}

/** A document made of these photos of its pages (new: a new key, not uploaded yet). */
function pagesDocument(requirement: Requirement, pages: Blob[]): DraftFile {
  const name = `${requirement.code.replace(/_/g, "-")}.pdf`;
  return { key: newKey(), name, size: pages.reduce((sum, page) => sum + page.size, 0), pages, status: "waiting" };
}

/** Why a photo cannot be a page of the requirement's document, if it cannot. */
function pageProblem(requirement: Requirement, photo: File, files: DraftFile[]): string | null {
  if (!/^image\/(jpeg|png|heic|heif)$/.test(photo.type) && !/\.(jpe?g|png|heic|heif)$/i.test(photo.name)) return t("foto tidak dapat dibaca; coba ambil ulang", "the photo cannot be read; try taking it again");
  const sofar = files.find((f) => f.pages)?.size ?? 0;
  if (sofar + photo.size > requirement.max_size_mb * 1024 * 1024) return t(`halaman-halamannya lebih dari ${requirement.max_size_mb} MB`, `the pages are larger than ${requirement.max_size_mb} MB`);
  return null;
}

/** The id of a form field's input, where the error summary links to. */
function fieldId(name: string): string {
  return `field-${name}`;
}
