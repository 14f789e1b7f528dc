// The citizen's applications: drafts still on the phone, then those the mall has, each with
// its timeline, what to do next, and the issued document.
import { useEffect, useRef, useState } from "preact/hooks";
import { ok, upload, type Schemas } from "../../lib/api";
import { fieldsOf, labelOf, type FormSchema, type Property } from "../../lib/formats";
import { date, dateTime, loc, t } from "../../lib/i18n";
import { ConfirmDialog, ErrorBox, Field, Loading, MoreButton, useAction, useLoad, usePaged } from "../../lib/ui";
import { service as loadService } from "../catalog";
import { allDrafts, type Draft } from "../drafts";
import { LineDetails } from "../../lib/revision";
import { Revision } from "./revision";
import { api, session } from "../session";
import "./more.css";

type Summary = Schemas["ApplicationSummary"];
type Application = Schemas["Application"];

function stateTone(code: string, overdue = false): string {
  if (overdue) return "bad";
  if (code === "completed" || code === "approved") return "ok";
  if (code === "rejected" || code === "cancelled") return "bad";
  if (code === "revision_requested") return "warn";
  return "";
}

export function Applications() {
  const [drafts, setDrafts] = useState<Draft[]>([]);
  const first = usePaged<Summary, Schemas["Page_ApplicationSummary_"]>((cursor) => ok(api.GET("/api/v1/applications", { params: { query: { limit: 20, cursor } } })), []);
  const items = first.items;
  useEffect(() => void allDrafts().then((found) => setDrafts(found.filter((d) => d.state !== "sent"))), []);
  return (
    <section>
      <h1>{t("Permohonan saya", "My applications")}</h1>
      {drafts.length > 0 && (
        <>
          <h2>{t("Draf di ponsel ini", "Drafts on this phone")}</h2>
          <ul class="list">
            {drafts.map((d) => (
              <li key={d.key}>
                <a href={`/layanan/${d.service}/ajukan`} class="item">
                  <strong>{loc(d.service_name)}</strong>
                  <span class={`badge ${d.state === "failed" ? "bad" : "warn"}`}>
                    {{ editing: t("draf", "draft"), queued: t("menunggu koneksi", "waiting for a connection"), sending: t("mengirim", "sending"), failed: t("perlu diperbaiki", "needs fixing"), sent: "" }[d.state]}
                  </span>
                </a>
              </li>
            ))}
          </ul>
        </>
      )}
      <ErrorBox error={first.error} />
      {first.loading && <Loading />}
      {!first.loading && !first.error && items.length === 0 && (
        <p class="muted">
          {t("Belum ada permohonan.", "No applications yet.")} <a href="/">{t("Cari layanan", "Find a service")}</a>
        </p>
      )}
      <ul class="list">
        {items.map((a) => (
          <li key={a.id}>
            <a href={`/permohonan/${a.id}`} class="item">
              <span class="spread">
                <strong>{loc(a.service_name)}</strong>
                <span class={`badge ${stateTone(a.state.code, a.overdue)}`}>{loc(a.state.label)}</span>
              </span>
              <span class="small muted">
                {a.tracking_number} · {dateTime(a.submitted_at)}
              </span>
            </a>
          </li>
        ))}
      </ul>
      <MoreButton more={first.more} />
    </section>
  );
}

export function ApplicationPage({ id }: { id: string }) {
  const found = useLoad(() => ok(api.GET("/api/v1/applications/{application_id}", { params: { path: { application_id: id } } })), [id]);
  const service = useLoad(async () => (found.data ? loadService(found.data.service_slug) : undefined), [found.data?.service_slug]);
  const heading = useRef<HTMLHeadingElement>(null);
  if (found.error) return <ErrorBox error={found.error} />;
  if (!found.data) return <Loading />;
  const a = found.data;
  const states = new Map((service.data?.workflow?.states ?? []).map((s) => [s.code, s.label]));
  const label = (code: string | null | undefined) => (code ? loc(states.get(code)) || code : "");
  const acted = () => (found.reload(), heading.current?.focus());
  const cancel = a.actions.find((action) => action.code === "cancel");
  return (
    <article>
      <p class="small">
        <a href="/permohonan">← {t("Permohonan saya", "My applications")}</a>
      </p>
      <h1 tabIndex={-1} ref={heading}>
        {loc(a.service_name)}
      </h1>
      <p class="spread">
        <span class="mono">{a.tracking_number}</span>
        <span class={`badge ${stateTone(a.state.code, a.overdue)}`}>{loc(a.state.label)}</span>
      </p>
      <p class="small">
        {t("Kode lacak", "Check code")}: <strong class="mono">{a.check_code}</strong> ·{" "}
        <a href={`/track/${a.tracking_number}-${a.check_code}`}>{t("Halaman lacak tanpa masuk", "Tracking page, no sign-in")}</a>
      </p>
      {a.due_at && !a.state.terminal && (
        <p class="small">
          {t("Target selesai", "Due by")}: <strong>{dateTime(a.due_at)}</strong>
          {a.sla_paused && <span class="badge warn"> {t("waktu layanan berhenti sampai Anda memperbaiki berkas", "the clock waits for your fix")}</span>}
        </p>
      )}
      {a.state.code === "revision_requested" && (
        <p class="notice">{t("Petugas meminta perbaikan. Baca catatan di bawah, lalu kirim ulang.", "The officer asked for a fix. Read the note below, then send again.")}</p>
      )}
      <WhatNext application={a} workflow={service.data?.workflow ?? null} />
      {a.revision?.length ? <Revision application={a} service={service.data} onDone={acted} /> : <CitizenActions application={a} requirements={service.data?.standard.requirements ?? []} onDone={acted} />}
      {a.output && <IssuedDocument output={a.output} />}
      <Submitted application={a} service={service.data} />
      <h2>{t("Riwayat", "History")}</h2>
      <ol class="timeline">
        {[...a.history].reverse().map((line, i) => (
          <li key={i}>
            <time dateTime={line.at}>{dateTime(line.at)}</time>
            <strong>{label(line.to_state)}</strong>
            {line.note && <p class="note">“{line.note}”</p>}
            <LineDetails line={line} />
          </li>
        ))}
      </ol>
      <div class="row">
        {a.state.code === "completed" && (
          <a class="button" href={`/permohonan/${a.id}/survei`}>
            {t("Nilai layanan ini", "Rate this service")}
          </a>
        )}
        {service.data?.channels.includes("booking") && !a.state.terminal && (
          <a class="button" href={`/layanan/${a.service_slug}/antrean?application=${a.id}`}>
            {t("Pesan antrean", "Book a visit")}
          </a>
        )}
        <a class="button" href={`/pengaduan/baru?application=${a.id}`}>
          {t("Ajukan pengaduan", "File a complaint")}
        </a>
      </div>
      {cancel && <CancelApplication application={a} action={cancel} onDone={acted} />}
    </article>
  );
}

/** The issued document: the holder, signed in, downloads it without a PIN; a PIN is for sharing
 * it with someone without the app (the one sent before keeps working). */
function IssuedDocument({ output }: { output: Schemas["OutputLink"] }) {
  const download = useAction();
  const share = useAction();
  const [pin, setPin] = useState<string | null>(null);
  const open = async () => {
    const link = await download.run(() => ok(api.GET("/api/v1/documents/outputs/{output_id}/content", { params: { path: { output_id: output.output_id }, query: { redirect: false } } })));
    if (link) window.location.assign(link.url);
  };
  const newPin = async () => {
    const made = await share.run(() => ok(api.POST("/api/v1/documents/outputs/{output_id}/pin", { params: { path: { output_id: output.output_id } }, body: { revoke_previous: false } })));
    if (made) setPin(made.pin);
  };
  const revoked = output.status === "revoked";
  return (
    <div class={`card ${revoked ? "" : "success-card"}`}>
      <h2>{t("Dokumen hasil layanan", "Issued document")}</h2>
      {revoked && <p class="notice">{t("Dokumen ini telah dicabut dan tidak berlaku lagi.", "This document was revoked and is no longer valid.")}</p>}
      <p>
        {t("Kode verifikasi", "Verification code")}: <strong class="mono">{output.verification_code}</strong>
        <br />
        <span class="small">
          {t("Terbit", "Issued")}: {dateTime(output.issued_at)}
        </span>
      </p>
      <ErrorBox error={download.error ?? share.error} />
      <div class="row">
        <button type="button" class="primary" disabled={download.busy} onClick={() => void open()}>
          {download.busy ? t("Menyiapkan…", "Preparing…") : t("Unduh dokumen (PDF)", "Download the document (PDF)")}
        </button>
        <a class="button" href={output.verify_url}>
          {t("Cek keaslian", "Check authenticity")}
        </a>
      </div>
      {!revoked &&
        (pin ? (
          <p class="small" role="status">
            {t("PIN baru (juga dikirim lewat SMS)", "New PIN (also sent by SMS)")}: <strong class="mono">{pin}</strong>.{" "}
            {t("Berikan bersama kode verifikasi kepada orang yang perlu mengunduhnya. PIN sebelumnya tetap berlaku.", "Give it with the verification code to whoever needs to download it. The previous PIN still works.")}
          </p>
        ) : (
          <button type="button" class="link small" disabled={share.busy} onClick={() => void newPin()}>
            {t("Buat PIN untuk dibagikan", "Make a PIN to share it")}
          </button>
        ))}
    </div>
  );
}

/** Cancelling, at the end of the page and only after saying what it means: it cannot be undone. */
function CancelApplication({ application, action, onDone }: { application: Application; action: Schemas["Action"]; onDone: () => void }) {
  const [asking, setAsking] = useState(false);
  const { busy, error, run } = useAction();
  const cancel = async () => {
    setAsking(false);
    const done = await run(() =>
      ok(api.POST("/api/v1/applications/{application_id}/actions/{action}", { params: { path: { application_id: application.id, action: action.code } }, body: { note: null } })),
    );
    if (done) onDone();
  };
  return (
    <div class="cancel-application">
      <ErrorBox error={error} />
      <button type="button" class="danger" disabled={busy} onClick={() => setAsking(true)}>
        {t("Batalkan permohonan", "Cancel the application")}
      </button>
      {asking && (
        <ConfirmDialog
          title={t("Batalkan permohonan ini?", "Cancel this application?")}
          confirm={t("Ya, batalkan", "Yes, cancel it")}
          cancel={t("Tidak, lanjutkan permohonan", "No, keep it")}
          onConfirm={() => void cancel()}
          onClose={() => setAsking(false)}
        >
          <p>
            {t(
              `Permohonan ${application.tracking_number} (${loc(application.service_name)}) akan dihentikan dan tidak diproses lagi oleh petugas.`,
              `Application ${application.tracking_number} (${loc(application.service_name)}) will be stopped and no officer will work on it again.`,
            )}
          </p>
          <p>
            {t(
              "Pembatalan tidak dapat diurungkan. Bila masih memerlukan layanan ini, Anda harus mengajukan permohonan baru.",
              "Cancelling cannot be undone. If you still need this service, you will have to apply again.",
            )}
          </p>
        </ConfirmDialog>
      )}
    </div>
  );
}

/** What the citizen may do now besides cancelling (send again after a fix), as the workflow
 * allows. */
function CitizenActions({ application, requirements, onDone }: { application: Application; requirements: Schemas["Requirement"][]; onDone: () => void }) {
  const [note, setNote] = useState("");
  const [files, setFiles] = useState<Record<string, File>>({});
  const { busy, error, run } = useAction();
  const actions = application.actions.filter((action) => action.code !== "cancel");
  if (!actions.length) return null;
  const act = async (action: Schemas["Action"]) => {
    const done = await run(async () => {
      const documents: Record<string, string[]> = {};
      for (const [code, file] of Object.entries(files)) {
        const form = new FormData();
        form.append("file", file, file.name);
        form.append("service", application.service_slug);
        form.append("requirement", code);
        const uploaded = await upload<Schemas["DocumentView"]>(session, "/documents", form, () => undefined);
        documents[code] = [uploaded.id];
      }
      const body = { note: note.trim() || null, documents: Object.keys(documents).length ? documents : null };
      // A document uploaded a moment ago is waited for by the service, not refused.
      return ok(api.POST("/api/v1/applications/{application_id}/actions/{action}", { params: { path: { application_id: application.id, action: action.code } }, body }));
    });
    if (done) onDone();
  };
  const replacing = application.state.code === "revision_requested";
  return (
    <div class="card">
      <h2>{t("Tindakan", "What you can do")}</h2>
      {replacing &&
        requirements.map((r) => (
          <Field key={r.code} label={`${loc(r.name)} (${t("ganti", "replace")})`}>
            {(p) => <input {...p} type="file" onChange={(e) => e.currentTarget.files?.[0] && setFiles({ ...files, [r.code]: e.currentTarget.files[0] })} />}
          </Field>
        ))}
      <Field label={t("Catatan (tidak wajib)", "Note (optional)")}>
        {(p) => <textarea {...p} value={note} onInput={(e) => setNote(e.currentTarget.value)} />}
      </Field>
      <ErrorBox error={error} />
      <div class="row">
        {actions.map((action) => (
          <button key={action.code} type="button" class="primary" disabled={busy} onClick={() => act(action)}>
            {loc(action.label)}
          </button>
        ))}
      </div>
    </div>
  );
}

/** What happens next, in words: who acts now, and by when. */
function WhatNext({ application: a, workflow }: { application: Application; workflow: Schemas["Service"]["workflow"] }) {
  const code = a.state.code;
  let text: string;
  if (code === "completed") text = t("Selesai. Dokumen Anda ada di bawah; jika perlu datang ke loket, bawa nomor permohonan.", "Done. Your document is below; if you need to visit the counter, bring the application number.");
  else if (code === "rejected") text = t("Permohonan ditolak. Alasannya ada di riwayat; Anda dapat mengajukan pengaduan atau mengajukan lagi.", "The application was refused. The reason is in the history; you may file a complaint or apply again.");
  else if (code === "cancelled") text = t("Permohonan ini dibatalkan.", "This application was cancelled.");
  else if (code === "revision_requested") text = t("Giliran Anda: perbaiki yang diminta petugas lalu kirim ulang. Waktu layanan berhenti sampai Anda mengirim ulang.", "Your turn: fix what the officer asked for, then send again. The service clock waits for you.");
  else {
    // The step forward the agency's staff take from here, as the service's workflow names it (not
    // a refusal, a send-back or a cancellation).
    const back = new Set(["rejected", "cancelled", "revision_requested"]);
    const forward = (workflow?.actions ?? []).find((action) => action.from_states.includes(code) && action.roles.some((role) => role !== "citizen") && !back.has(action.to_state));
    const who = forward
      ? t(`Langkah berikutnya: ${loc(forward.label)}, oleh petugas.`, `Next step: ${loc(forward.label)}, by an officer.`)
      : t("Permohonan Anda sedang diproses petugas.", "An officer is working on your application.");
    const when = a.due_at ? t(` Target selesai ${date(a.due_at)}.`, ` Due by ${date(a.due_at)}.`) : "";
    text = `${who}${when} ${t("Anda mendapat SMS dan pesan di aplikasi setiap ada perubahan.", "You get an SMS and an app message at every change.")}`;
  }
  return (
    <section class="card" aria-labelledby="next">
      <h2 id="next">{t("Apa selanjutnya", "What happens next")}</h2>
      <p>{text}</p>
    </section>
  );
}

function shown(property: Property, value: unknown): string {
  if (value === null || value === undefined || value === "") return "–";
  const option = property["x-options"]?.find((o) => o.value === value);
  if (option) return loc(option.label);
  if (property.format === "date" && typeof value === "string") return date(value);
  if (typeof value === "boolean") return value ? t("Ya", "Yes") : t("Tidak", "No");
  return String(value);
}

/** What the citizen sent: the answers under their labels, and the documents, each openable. */
function Submitted({ application: a, service }: { application: Application; service: Schemas["Service"] | undefined }) {
  const schema = (service?.form_schema ?? {}) as FormSchema;
  const form = (a.form ?? {}) as Record<string, unknown>;
  const answers = fieldsOf(schema).filter(([name]) => name in form);
  const requirements = new Map((service?.standard.requirements ?? []).map((r) => [r.code, r.name]));
  const documents = Object.entries(a.documents ?? {}).flatMap(([code, ids]) => ids.map((id, n) => ({ id, name: `${loc(requirements.get(code)) || code}${ids.length > 1 ? ` (${n + 1})` : ""}` })));
  return (
    <section class="card" aria-labelledby="sent">
      <h2 id="sent">{t("Yang Anda kirim", "What you sent")}</h2>
      {answers.length > 0 && (
        <ul class="answers">
          {answers.map(([name, property]) => (
            <li key={name}>
              <span>{loc(labelOf(name, property))}</span>
              <strong>{shown(property, form[name])}</strong>
            </li>
          ))}
        </ul>
      )}
      {documents.length > 0 && (
        <>
          <h3>{t("Dokumen", "Documents")}</h3>
          <ul class="answers">
            {documents.map((d) => (
              <li key={d.id}>
                <span>{d.name}</span>
                <OpenDocument id={d.id} name={d.name} />
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

/** Opens the document in a new tab by a link valid for a minute, asked for on the tap. */
function OpenDocument({ id, name }: { id: string; name: string }) {
  const { busy, error, run } = useAction();
  const open = () =>
    void run(async () => {
      const tab = window.open("", "_blank");
      const link = (await ok(api.GET("/api/v1/documents/{document_id}/content", { params: { path: { document_id: id }, query: { redirect: false } } }))) as Schemas["Link"];
      if (tab) tab.location.href = link.url;
      else window.location.href = link.url;
    });
  return (
    <span>
      <button type="button" class="link" disabled={busy} onClick={open} aria-label={t(`Lihat ${name}`, `View ${name}`)}>
        {t("Lihat", "View")}
      </button>
      <ErrorBox error={error} />
    </span>
  );
}
