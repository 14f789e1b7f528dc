// Complaints (SP4N-LAPOR!): the mall verifies and forwards a complaint to the agency within 3
// working days, the agency answers within 5; the citizen replies or closes it, and it closes by
// itself 10 working days after an answer left without a reply.
import { useLocation } from "preact-iso";
import { useRef, useState } from "preact/hooks";
import { ok, type Schemas } from "../../lib/api";
import { dateTime, loc, t } from "../../lib/i18n";
import { ErrorBox, Field, Loading, MoreButton, useAction, useLoad, usePaged } from "../../lib/ui";
import { agencyMap } from "../catalog";
import { api } from "../session";
import "./more.css";

type Summary = Schemas["ComplaintSummary"];
type Complaint = Schemas["Complaint"];

function stateTone(code: string, overdue: boolean): string {
  if (overdue) return "bad";
  if (code === "responded") return "warn";
  if (code === "closed") return "ok";
  return "";
}

function fieldError(error: unknown, name: string): string | undefined {
  const errors = (error as { errors?: { field: string; message: string }[] } | null)?.errors ?? [];
  return errors.find((e) => e.field === name || e.field.endsWith(`.${name}`))?.message;
}

/** What the mall or the agency owes next, and by when; or when it closes by itself. */
function clock(c: Pick<Complaint, "state" | "due_at" | "closes_at" | "overdue">): { label: string; at: string } | null {
  const code = c.state.code;
  if (code === "received" && c.due_at) return { label: t("Diverifikasi dan diteruskan ke instansi paling lambat", "To be verified and forwarded to the agency by"), at: c.due_at };
  if (code === "forwarded" && c.due_at) return { label: t("Instansi wajib menanggapi paling lambat", "The agency must answer by"), at: c.due_at };
  if (code === "responded" && c.closes_at) return { label: t("Ditutup otomatis jika tidak dibalas pada", "Closes by itself without a reply on"), at: c.closes_at };
  return null;
}

// ---- my complaints ---------------------------------------------------------------------------

export function Complaints() {
  const first = usePaged<Summary, Schemas["ComplaintList"]>((cursor) => ok(api.GET("/api/v1/complaints", { params: { query: { limit: 20, cursor } } })), []);
  const items = first.items;
  return (
    <section>
      <h1>{t("Pengaduan saya", "My complaints")}</h1>
      <p class="muted small">
        {t(
          "Pengaduan diteruskan ke instansi dalam 3 hari kerja dan ditanggapi dalam 5 hari kerja (SP4N-LAPOR!).",
          "Complaints are forwarded to the agency within 3 working days and answered within 5 (SP4N-LAPOR!).",
        )}
      </p>
      <a class="button primary wide" href="/pengaduan/baru">
        {t("Ajukan pengaduan baru", "File a new complaint")}
      </a>
      <ErrorBox error={first.error} />
      {first.loading && !first.data && <Loading />}
      {first.data && items.length === 0 && <p class="muted">{t("Belum ada pengaduan.", "No complaints yet.")}</p>}
      <ul class="list">
        {items.map((c) => {
          const due = clock(c);
          return (
            <li key={c.id}>
              <a href={`/pengaduan/${c.id}`} class="item">
                <span class="spread">
                  <strong>{c.subject}</strong>
                  <span class={`badge ${stateTone(c.state.code, c.overdue)}`}>{loc(c.state.label)}</span>
                </span>
                <span class="small mono">{c.tracking_id}</span>
                <span class="small muted">
                  {t("Diajukan", "Filed")} {dateTime(c.filed_at)}
                  {due && (
                    <>
                      {" · "}
                      {due.label} {dateTime(due.at)}
                    </>
                  )}
                </span>
                {c.overdue && <span class="badge bad">{t("Lewat batas waktu", "Overdue")}</span>}
              </a>
            </li>
          );
        })}
      </ul>
      <MoreButton more={first.more} />
    </section>
  );
}

// ---- a new complaint -------------------------------------------------------------------------

export function NewComplaint() {
  const { route, query } = useLocation();
  const applicationId = query.application || "";
  const application = useLoad(
    async () => (applicationId ? ok(api.GET("/api/v1/applications/{application_id}", { params: { path: { application_id: applicationId } } })) : undefined),
    [applicationId],
  );
  const agencies = useLoad(async () => (applicationId ? undefined : agencyMap()), [applicationId]);
  const [form, setForm] = useState({ subject: "", description: "", agency: "" });
  // One key for this complaint: sending twice (a double tap, a retry) files it once.
  const [key] = useState(() => crypto.randomUUID());
  const { busy, error, run } = useAction();
  const change = (name: keyof typeof form) => (e: Event) => setForm({ ...form, [name]: (e.currentTarget as HTMLInputElement).value });

  const submit = async (e: Event) => {
    e.preventDefault();
    const body = {
      subject: form.subject.trim(),
      description: form.description.trim(),
      ...(applicationId ? { application_id: applicationId } : form.agency ? { agency: form.agency } : {}),
    };
    const filed = await run(() => ok(api.POST("/api/v1/complaints", { body, params: { header: { "Idempotency-Key": key } } })));
    if (filed) route(`/pengaduan/${filed.id}`);
  };

  const sorted = [...(agencies.data?.values() ?? [])].sort((a, b) => loc(a.name).localeCompare(loc(b.name)));
  return (
    <section>
      <p class="small">
        <a href="/pengaduan">← {t("Pengaduan saya", "My complaints")}</a>
      </p>
      <h1>{t("Ajukan pengaduan", "File a complaint")}</h1>
      <p class="muted small">
        {t(
          "Ceritakan apa yang terjadi. Pengaduan Anda diverifikasi MPP, diteruskan ke instansi, dan Anda mendapat nomor pelacakan.",
          "Tell us what happened. The mall verifies your complaint, forwards it to the agency, and you get a tracking number.",
        )}
      </p>
      <form class="card" onSubmit={submit} noValidate>
        {applicationId && (
          <div class="field">
            <p class="small muted">{t("Tentang permohonan", "About the application")}</p>
            <ErrorBox error={application.error} />
            {application.data ? (
              <p>
                <strong>{loc(application.data.service_name)}</strong> · <span class="mono">{application.data.tracking_number}</span>
              </p>
            ) : (
              !application.error && <Loading />
            )}
          </div>
        )}
        {!applicationId && (
          <Field label={t("Instansi yang diadukan (tidak wajib)", "Agency concerned (optional)")} hint={t("Kosongkan jika tidak tahu atau tentang MPP.", "Leave empty if unsure or about the mall itself.")} error={fieldError(error, "agency")}>
            {(p) => (
              <select {...p} name="agency" value={form.agency} onChange={change("agency")}>
                <option value="">{t("— Tidak tahu / MPP —", "— Not sure / the mall —")}</option>
                {sorted.map((a) => (
                  <option key={a.code} value={a.code}>
                    {loc(a.name)}
                  </option>
                ))}
              </select>
            )}
          </Field>
        )}
        <ErrorBox error={agencies.error} />
        <Field label={t("Judul", "Subject")} hint={t("Singkat, 3–200 karakter", "Short, 3–200 characters")} error={fieldError(error, "subject")}>
          {(p) => <input {...p} name="subject" required minLength={3} maxLength={200} value={form.subject} onInput={change("subject")} />}
        </Field>
        <Field
          label={t("Uraian", "Description")}
          hint={t("Apa, kapan, di mana, dan apa yang Anda harapkan (paling sedikit 10 karakter).", "What, when, where, and what you expect (at least 10 characters).")}
          error={fieldError(error, "description")}
        >
          {(p) => <textarea {...p} name="description" required minLength={10} maxLength={5000} rows={6} value={form.description} onInput={change("description")} />}
        </Field>
        <ErrorBox error={error} />
        <button type="submit" class="primary wide" disabled={busy}>
          {busy ? t("Mengirim…", "Sending…") : t("Kirim pengaduan", "Send the complaint")}
        </button>
      </form>
    </section>
  );
}

// ---- one complaint ---------------------------------------------------------------------------

type StepState = "done" | "now" | "next" | "skipped";

/** The four steps every complaint takes, each done (and when), under way, still to come, or not
 * taken (closed before it); a reply sends it back to the agency's answer. */
function steps(c: Complaint, agency: string): { label: string; state: StepState; at?: string }[] {
  const last = (action: string) => [...c.timeline].reverse().find((line) => line.action.code === action)?.at;
  const code = c.state.code;
  const forwardedAt = last("forward");
  // After a reply the answer is owed again: the earlier one no longer ends the step.
  const answeredAt = code === "forwarded" ? undefined : last("respond");
  const closed = code === "closed";
  const state = (at: string | undefined, now: boolean): StepState => (at ? "done" : closed ? "skipped" : now ? "now" : "next");
  return [
    { label: t("Pengaduan diajukan", "Complaint filed"), state: "done", at: c.filed_at },
    { label: t(`Diverifikasi MPP dan diteruskan ke ${agency}`, `Verified by the mall and forwarded to ${agency}`), state: state(forwardedAt, code === "received"), at: forwardedAt },
    { label: t("Ditanggapi instansi", "Answered by the agency"), state: state(answeredAt, code === "forwarded"), at: answeredAt },
    { label: t("Pengaduan ditutup", "Complaint closed"), state: state(c.closed_at ?? undefined, code === "responded"), at: c.closed_at ?? undefined },
  ];
}

const STEP_NOTE: Record<StepState, [string, string]> = {
  done: ["Selesai", "Done"],
  now: ["Sedang berjalan", "In progress"],
  next: ["Berikutnya", "Still to come"],
  skipped: ["Tidak dilalui", "Not taken"],
};

function Steps({ complaint, agency }: { complaint: Complaint; agency: string }) {
  return (
    <ol class="steps" aria-label={t("Tahapan pengaduan", "The complaint's steps")}>
      {steps(complaint, agency).map((step) => (
        <li key={step.label} class={step.state} aria-current={step.state === "now" ? "step" : undefined}>
          <strong>{step.label}</strong>
          <span class="step-note">
            {t(...STEP_NOTE[step.state])}
            {step.state === "done" && step.at && <> · {dateTime(step.at)}</>}
          </span>
        </li>
      ))}
    </ol>
  );
}

const WHO: Record<string, [string, string]> = {
  citizen: ["Anda", "You"],
  officer: ["Instansi", "Agency"],
  agency_admin: ["Instansi", "Agency"],
  mpp_admin: ["Admin MPP", "Mall staff"],
  system: ["Sistem", "System"],
};

export function ComplaintPage({ id }: { id: string }) {
  const found = useLoad(() => ok(api.GET("/api/v1/complaints/{complaint_id}", { params: { path: { complaint_id: id } } })), [id]);
  const agencies = useLoad(agencyMap, []);
  const heading = useRef<HTMLHeadingElement>(null);
  const [done, setDone] = useState("");
  if (found.error) return <ErrorBox error={found.error} />;
  if (!found.data) return <Loading />;
  const c = found.data;
  const due = clock(c);
  const agency = c.agency ? agencies.data?.get(c.agency) : undefined;
  const changed = (message: string) => {
    setDone(message);
    found.reload();
    heading.current?.focus();
  };
  return (
    <article>
      <p class="small">
        <a href="/pengaduan">← {t("Pengaduan saya", "My complaints")}</a>
      </p>
      <h1 tabIndex={-1} ref={heading}>
        {c.subject}
      </h1>
      <p class="spread">
        <span>
          <span class="small muted">{t("Nomor pelacakan", "Tracking id")}</span>
          <br />
          <span class="mono tracking">{c.tracking_id}</span>
        </span>
        <span class={`badge ${stateTone(c.state.code, c.overdue)}`}>{loc(c.state.label)}</span>
      </p>
      <p role="status" class={done ? "success" : "visually-hidden"}>
        {done}
      </p>
      {due && (
        <p class={c.overdue ? "clock late" : "clock"}>
          <span>{due.label}</span>
          <strong>{dateTime(due.at)}</strong>
          {c.overdue && <span>{t("Batas waktu terlewati; MPP sudah diberi tahu.", "The deadline has passed; the mall has been told.")}</span>}
        </p>
      )}
      <dl class="facts-list card">
        <dt>{t("Diajukan", "Filed")}</dt>
        <dd>{dateTime(c.filed_at)}</dd>
        <dt>{t("Kode lacak", "Check code")}</dt>
        <dd>
          <span class="mono">{c.check_code}</span> · <a href={`/track/${c.tracking_id}-${c.check_code}`}>{t("Halaman lacak", "Tracking page")}</a>
        </dd>
        <dt>{t("Instansi", "Agency")}</dt>
        <dd>{agency ? loc(agency.name) : c.agency || t("Belum ditentukan", "Not decided yet")}</dd>
        {c.application_id && (
          <>
            <dt>{t("Permohonan", "Application")}</dt>
            <dd>
              <a href={`/permohonan/${c.application_id}`}>{t("Lihat permohonan", "View the application")}</a>
            </dd>
          </>
        )}
        {c.closed_at && (
          <>
            <dt>{t("Ditutup", "Closed")}</dt>
            <dd>{dateTime(c.closed_at)}</dd>
          </>
        )}
      </dl>
      <h2>{t("Tahapan", "Steps")}</h2>
      <Steps complaint={c} agency={agency ? loc(agency.name) : c.agency || t("instansi terkait", "the agency concerned")} />
      <h2>{t("Uraian", "Description")}</h2>
      <p class="message">{c.description}</p>
      <ComplaintActions complaint={c} onDone={changed} />
      <h2>{t("Perjalanan pengaduan", "Timeline")}</h2>
      <ol class="timeline">
        {[...c.timeline].reverse().map((line, i) => {
          const who = WHO[line.actor_role];
          return (
            <li key={i}>
              <time dateTime={line.at}>{dateTime(line.at)}</time>
              <strong>{loc(line.action.label)}</strong> <span class="small muted">· {loc(line.state.label)}</span>
              {line.message && line.action.code !== "file" && (
                <p class={line.actor_role === "citizen" ? "answer mine" : "answer"}>
                  {who && <span class="visually-hidden">{t(who[0], who[1])}: </span>}
                  {line.message}
                </p>
              )}
            </li>
          );
        })}
      </ol>
    </article>
  );
}

/** What the citizen may do now, as the complaint says: reply to an answer, or close it. */
function ComplaintActions({ complaint, onDone }: { complaint: Complaint; onDone: (message: string) => void }) {
  const [message, setMessage] = useState("");
  const [confirming, setConfirming] = useState(false);
  const { busy, error, run } = useAction();
  const reply = complaint.actions.find((a) => a.code === "reply");
  const close = complaint.actions.find((a) => a.code === "close");
  if (!reply && !close) return null;
  const path = { complaint_id: complaint.id };
  const sendReply = async (e: Event) => {
    e.preventDefault();
    const done = await run(() => ok(api.POST("/api/v1/complaints/{complaint_id}/reply", { params: { path }, body: { message: message.trim() } })));
    if (done) {
      setMessage("");
      onDone(t("Balasan terkirim ke instansi.", "Reply sent to the agency."));
    }
  };
  const sendClose = async () => {
    const done = await run(() => ok(api.POST("/api/v1/complaints/{complaint_id}/close", { params: { path }, body: {} })));
    if (done) {
      setConfirming(false);
      onDone(t("Pengaduan ditutup. Terima kasih.", "Complaint closed. Thank you."));
    }
  };
  return (
    <div class="card">
      <h2>{t("Tindakan", "What you can do")}</h2>
      {reply && (
        <form onSubmit={sendReply} noValidate>
          <Field label={t("Balasan Anda", "Your reply")} hint={t("Jika tanggapan belum menyelesaikan masalah, jelaskan di sini.", "If the answer does not solve it, say so here.")} error={fieldError(error, "message")}>
            {(p) => <textarea {...p} name="message" required maxLength={5000} value={message} onInput={(e) => setMessage(e.currentTarget.value)} />}
          </Field>
          <button type="submit" class="primary" disabled={busy || !message.trim()}>
            {t("Kirim balasan", "Send the reply")}
          </button>
        </form>
      )}
      <ErrorBox error={error} />
      {close && !confirming && (
        <p>
          <button type="button" class="danger" onClick={() => setConfirming(true)} disabled={busy}>
            {t("Tutup pengaduan", "Close the complaint")}
          </button>
        </p>
      )}
      {close && confirming && (
        <div class="confirm" role="group" aria-label={t("Konfirmasi penutupan", "Confirm closing")}>
          <p>
            <strong>{t("Tutup pengaduan ini?", "Close this complaint?")}</strong> {t("Tutup jika masalah sudah selesai. Pengaduan yang ditutup tidak dapat dibuka lagi.", "Close it when the matter is settled. A closed complaint cannot be reopened.")}
          </p>
          <div class="row">
            <button type="button" class="danger" disabled={busy} onClick={sendClose}>
              {t("Ya, tutup", "Yes, close it")}
            </button>
            <button type="button" disabled={busy} onClick={() => setConfirming(false)}>
              {t("Batal", "Cancel")}
            </button>
          </div>
        </div>
      )}
    </div>
  );
}
