// Public: where is my application (or complaint)? Its number alone is not enough, as numbers
// follow one another: the check code given with it is asked for too. The link in the SMS carries
// both (/track/<number>-<code>); the applicant signed in on this phone needs no code.
import { useLocation } from "preact-iso";
import { useState } from "preact/hooks";
import { ApiError, ok } from "../../lib/api";
import { dateTime, loc, t } from "../../lib/i18n";
import { ErrorBox, Field, Loading, useLoad } from "../../lib/ui";
import { agencyMap } from "../catalog";
import { api } from "../session";
import "./more.css";

/** Number and code in what the SMS link ends with: `<number>-<code>`, or the number alone. */
export function parseRef(tracking: string): { number: string; code: string } {
  let text = tracking;
  try {
    text = decodeURIComponent(tracking);
  } catch {
    /* not percent-encoded after all */
  }
  text = text.trim().toUpperCase();
  const both = /^(.+-\d{8}-\d{6})-([A-Z0-9]{6})$/.exec(text);
  return both ? { number: both[1], code: both[2] } : { number: text, code: "" };
}

/** The page's own address for a number and code. */
function refOf(number: string, code: string): string {
  return `/track/${encodeURIComponent(number)}${code ? `-${encodeURIComponent(code)}` : ""}`;
}

export function Track({ tracking }: { tracking?: string }) {
  const { query } = useLocation();
  const parsed = parseRef(tracking ?? "");
  const code = parsed.code || (query.code ?? "").trim().toUpperCase();
  return (
    <section>
      <h1>{t("Lacak permohonan", "Track an application")}</h1>
      {parsed.number ? <Result key={`${parsed.number}-${code}`} number={parsed.number} code={code} /> : <CodeEntry number="" code="" />}
    </section>
  );
}

function CodeEntry({ number, code, notFound = false }: { number: string; code: string; notFound?: boolean }) {
  const { route } = useLocation();
  const [typedNumber, setNumber] = useState(number);
  const [typedCode, setCode] = useState(code);
  const [error, setError] = useState<unknown>(null);
  const submit = (e: Event) => {
    e.preventDefault();
    const n = typedNumber.trim().toUpperCase();
    const c = typedCode.replace(/\s+/g, "").toUpperCase();
    if (!n || !c) return setError(new Error(t("Ketik nomor pelacakan dan kode lacaknya.", "Type the tracking number and its check code.")));
    route(refOf(n, c));
  };
  return (
    <>
      {notFound && (
        <div class="verdict bad" role="alert">
          <div>
            <strong class="verdict-title">{t("TIDAK DITEMUKAN", "NOT FOUND")}</strong>
            <p>{t("Nomor atau kode lacak tidak cocok. Periksa SMS atau e-mail tanda terima Anda, lalu coba lagi.", "The number or the check code does not match. Check your receipt SMS or e-mail, then try again.")}</p>
          </div>
        </div>
      )}
      <p class="muted">
        {t(
          "Nomor pelacakan dan kode lacak dikirim lewat SMS dan e-mail saat permohonan diterima, dan tertera di halaman permohonan Anda.",
          "The tracking number and its check code were sent by SMS and e-mail when the application was received, and are shown on your application's page.",
        )}
      </p>
      <form class="card" onSubmit={submit} noValidate>
        <Field label={t("Nomor pelacakan", "Tracking number")} hint={t("Contoh SNJ-DISDUKCAPIL-20260108-000123", "E.g. SNJ-DISDUKCAPIL-20260108-000123")}>
          {(p) => <input {...p} class="mono" name="number" autocomplete="off" autocapitalize="characters" spellcheck={false} value={typedNumber} onInput={(e) => setNumber(e.currentTarget.value)} />}
        </Field>
        <Field label={t("Kode lacak", "Check code")} hint={t("6 huruf dan angka, contoh K7QX4M", "6 letters and digits, e.g. K7QX4M")}>
          {(p) => <input {...p} class="code-input mono" name="code" autocomplete="off" autocapitalize="characters" spellcheck={false} maxLength={8} value={typedCode} onInput={(e) => setCode(e.currentTarget.value)} />}
        </Field>
        <button type="submit" class="primary wide">
          {t("Lacak", "Track")}
        </button>
        <ErrorBox error={error} />
      </form>
    </>
  );
}

type Step = { at: string; label: string };
type Found = { title: string; agency: string; state: string; terminal: boolean; since: string; updated: string; due: string | null; steps: Step[] };

/** A complaint's or an application's public status, alike. */
async function lookUp(number: string, code: string): Promise<Found> {
  const query = code ? { code } : {};
  const agencies = await agencyMap().catch(() => new Map());
  const agencyName = (agency: string | null | undefined) => (agency ? loc(agencies.get(agency)?.name) || agency : t("Belum ditentukan", "Not decided yet"));
  if (number.startsWith("ADU-")) {
    const c = await ok(api.GET("/api/v1/track/complaints/{tracking_id}", { params: { path: { tracking_id: number }, query } }));
    return {
      title: t("Pengaduan", "Complaint"),
      agency: agencyName(c.agency),
      state: loc(c.state.label),
      terminal: c.state.code === "closed",
      since: c.filed_at,
      updated: c.updated_at,
      due: c.due_at,
      steps: c.timeline.map((s) => ({ at: s.at, label: loc(s.state.label) })),
    };
  }
  const a = await ok(api.GET("/api/v1/track/{tracking_number}", { params: { path: { tracking_number: number }, query } }));
  return {
    title: loc(a.service_name),
    agency: agencyName(a.agency),
    state: loc(a.state.label),
    terminal: a.state.terminal ?? false,
    since: a.submitted_at,
    updated: a.updated_at,
    due: a.due_at,
    steps: a.timeline.map((s) => ({ at: s.at, label: loc(s.state.label) })),
  };
}

function Result({ number, code }: { number: string; code: string }) {
  const found = useLoad(() => lookUp(number, code), [number, code]);
  // Without a code only the applicant signed in here is answered: the others are asked for it.
  if (found.error instanceof ApiError && found.error.status === 404) return <CodeEntry number={number} code={code} notFound={code !== ""} />;
  if (found.error) return <ErrorBox error={found.error} />;
  if (!found.data) return <Loading label={t("Mencari permohonan…", "Looking the application up…")} />;
  const f = found.data;
  return (
    <>
      <dl class="facts-stack card">
        <dt>{t("Nomor pelacakan", "Tracking number")}</dt>
        <dd class="mono">{number}</dd>
        <dt>{t("Layanan", "Service")}</dt>
        <dd>{f.title}</dd>
        <dt>{t("Instansi", "Agency")}</dt>
        <dd>{f.agency}</dd>
        <dt>{t("Status", "Status")}</dt>
        <dd>
          <span class={`badge ${f.terminal ? "" : "warn"}`}>{f.state}</span>
        </dd>
        <dt>{t("Diajukan", "Submitted")}</dt>
        <dd>{dateTime(f.since)}</dd>
        {f.due && !f.terminal && (
          <>
            <dt>{t("Target selesai", "Due by")}</dt>
            <dd>{dateTime(f.due)}</dd>
          </>
        )}
      </dl>
      <h2>{t("Riwayat", "History")}</h2>
      <ol class="timeline">
        {[...f.steps].reverse().map((step, i) => (
          <li key={i}>
            <time dateTime={step.at}>{dateTime(step.at)}</time>
            <strong>{step.label}</strong>
          </li>
        ))}
      </ol>
      <p class="center">
        <a href="/lacak">{t("Lacak nomor lain", "Track another number")}</a>
      </p>
    </>
  );
}
