// One application as the officer works it: key facts and deadlines, the form answers with their
// labels, the documents with previews, the actions allowed now, the applicant and the history.
import { useState } from "preact/hooks";
import { ApiError, type Schemas } from "../lib/api";
import { date, dateTime, loc, t } from "../lib/i18n";
import { LineDetails } from "../lib/revision";
import { ErrorBox, Loading, useAction, useLoad } from "../lib/ui";
import { ActionPanel } from "./actions";
import { Due, Flags, StateBadge, useHeadingFocus, useTitle } from "./common";
import { Documents } from "./documents";
import { learnState, roleLabel, stateLabel } from "./format";
import { api, BASE, ok } from "./session";

type Application = Schemas["Application"];
type Service = Schemas["Service"];
type Localized = { id: string; en: string };
type Property = {
  type?: string | string[];
  format?: string;
  title?: string;
  "x-label"?: Localized;
  "x-options"?: { value: unknown; label: Localized }[];
  items?: Property;
};
type FormSchema = { properties?: Record<string, Property>; required?: string[] };

function useApplication(id: string) {
  return useLoad(() => ok(api.GET("/api/v1/applications/{application_id}", { params: { path: { application_id: id } } })), [id]);
}

function useService(application: Application | undefined) {
  const slug = application?.service_slug;
  const version = application?.service_version;
  return useLoad(async () => {
    if (!slug) return null;
    const service = await ok(api.GET("/api/v1/catalog/services/{id_or_slug}", { params: { path: { id_or_slug: slug }, query: { version } } }));
    service.workflow?.states.forEach((state) => learnState(state));
    return service;
  }, [slug, version]);
}

export function ApplicationPage({ id }: { id: string }) {
  const application = useApplication(id);
  const service = useService(application.data);
  const [done, setDone] = useState<{ action: Localized; state: Localized } | null>(null);
  const heading = useHeadingFocus(application.data !== undefined, true);
  const app = application.data;
  useTitle(app ? app.tracking_number : t("Permohonan", "Application"));

  if (!app) {
    return (
      <main id="main" class="desk-main">
        <BackLink />
        {application.error ? <ErrorBox error={application.error} /> : <Loading />}
      </main>
    );
  }
  const acted = (updated: Application, action: Schemas["Action"]) => {
    setDone({ action: action.label, state: updated.state.label });
    application.reload();
  };
  return (
    <main id="main" class="desk-main">
      <BackLink />
      <div class="detail-head">
        <div>
          <p class="eyebrow">{loc(app.service_name)}</p>
          <h1 ref={heading} tabIndex={-1} class="tracking-title">
            {app.tracking_number}
          </h1>
        </div>
        <div class="row">
          <StateBadge code={app.state.code} label={app.state.label} />
          {(app.overdue || app.sla_paused) && <Flags overdue={app.overdue} paused={app.sla_paused} />}
        </div>
      </div>
      <div role="status" aria-live="polite">
        {done && (
          <p class="success">
            {t(
              `"${loc(done.action)}" berhasil. Status sekarang: ${loc(done.state)}.`,
              `"${loc(done.action)}" done. The application is now: ${loc(done.state)}.`,
            )}
          </p>
        )}
      </div>
      <ErrorBox error={application.error} />
      <Facts app={app} />
      <div class="detail-grid">
        <div class="detail-main">
          <section class="card" aria-labelledby="answers-h">
            <h2 id="answers-h">{t("Isian formulir", "Form answers")}</h2>
            {service.data ? <Answers form={app.form} schema={(service.data.form_schema ?? {}) as FormSchema} /> : <ServiceState loaded={service} />}
          </section>
          <section class="card" aria-labelledby="documents-h">
            <h2 id="documents-h">{t("Dokumen persyaratan", "Required documents")}</h2>
            {service.data ? <Documents documents={app.documents} requirements={service.data.standard.requirements} /> : <ServiceState loaded={service} />}
          </section>
        </div>
        <aside class="detail-side" aria-label={t("Tindakan dan riwayat", "Actions and history")}>
          <section class="card actions-card" aria-labelledby="actions-h">
            <h2 id="actions-h">{t("Tindakan", "Actions")}</h2>
            <ActionPanel application={app} workflow={service.data?.workflow ?? null} service={service.data ?? null} onDone={acted} onStale={application.reload} />
          </section>
          <Applicant key={app.id} citizenId={app.citizen_id} name={app.applicant_name ?? null} />
          <section class="card" aria-labelledby="history-h">
            <h2 id="history-h">{t("Riwayat", "History")}</h2>
            <History lines={app.history} workflow={service.data?.workflow ?? null} />
          </section>
        </aside>
      </div>
    </main>
  );
}

function BackLink() {
  return (
    <p class="back">
      <a href={`${BASE}/`}>← {t("Kotak masuk", "Inbox")}</a>
    </p>
  );
}

function ServiceState({ loaded }: { loaded: { error: unknown } }) {
  return loaded.error ? <ErrorBox error={loaded.error} /> : <Loading />;
}

/** The key facts in one strip: when it came, when it is due overall and in this state. */
function Facts({ app }: { app: Application }) {
  const now = Date.now();
  return (
    <dl class="facts">
      <div>
        <dt>{t("Diajukan", "Submitted")}</dt>
        <dd>{dateTime(app.submitted_at)}</dd>
      </div>
      <div>
        <dt>{t("Tenggat keseluruhan", "Overall due")}</dt>
        <dd>
          <Due iso={app.due_at} now={now} paused={app.sla_paused} />
        </dd>
      </div>
      <div>
        <dt>{t("Tenggat tahap ini", "Due in this state")}</dt>
        <dd>
          <Due iso={app.state_due_at} now={now} paused={app.sla_paused} />
        </dd>
      </div>
      <div>
        <dt>{t("Jam layanan (SLA)", "Service clock (SLA)")}</dt>
        <dd>
          {app.sla_paused ? (
            <span class="badge state-closed">{t("Dijeda — menunggu warga", "Paused — waiting for the citizen")}</span>
          ) : app.state.terminal ? (
            <span class="badge ok">{t("Selesai", "Finished")}</span>
          ) : (
            <span class="badge state-work">{t("Berjalan", "Running")}</span>
          )}
        </dd>
      </div>
      <div>
        <dt>{t("Terakhir diubah", "Last changed")}</dt>
        <dd>{dateTime(app.updated_at)}</dd>
      </div>
    </dl>
  );
}

// ---- form answers -----------------------------------------------------------------------

function label(name: string, property: Property | undefined): string {
  return loc(property?.["x-label"]) || property?.title || name;
}

function answer(value: unknown, property: Property | undefined): string {
  if (value === null || value === undefined || value === "") return "—";
  if (Array.isArray(value)) return value.map((v) => answer(v, property?.items ?? property)).join(", ");
  const option = property?.["x-options"]?.find((o) => o.value === value);
  if (option) return loc(option.label);
  if (typeof value === "boolean") return value ? t("Ya", "Yes") : t("Tidak", "No");
  if (typeof value === "string" && property?.format === "date") return date(value);
  if (typeof value === "string" && property?.format === "date-time") return dateTime(value);
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** The schema's fields in the form's order (required ones first, as the catalog lists them). */
function fieldOrder(form: Record<string, unknown>, schema: FormSchema): string[] {
  const names = [...(schema.required ?? []), ...Object.keys(schema.properties ?? {}), ...Object.keys(form)];
  return [...new Set(names)].filter((name) => name in form || name in (schema.properties ?? {}));
}

function Answers({ form, schema }: { form: Record<string, unknown>; schema: FormSchema }) {
  const names = fieldOrder(form, schema);
  if (names.length === 0) return <p class="muted">{t("Layanan ini tanpa isian formulir.", "This service has no form.")}</p>;
  return (
    <dl class="answers">
      {names.map((name) => {
        const property = schema.properties?.[name];
        return (
          <div key={name}>
            <dt>{label(name, property)}</dt>
            <dd class={name in form ? undefined : "muted"}>{answer(form[name], property)}</dd>
          </div>
        );
      })}
    </dl>
  );
}

// ---- the applicant ---------------------------------------------------------------------------

type CitizenView = Schemas["CitizenView"];

/** The applicant's name comes with the application; their NIK and contacts only when the officer
 *  asks for them: each look is recorded, and allowed only while the agency handles an application
 *  of the citizen (and 30 days after it ends). */
function Applicant({ citizenId, name }: { citizenId: string; name: string | null }) {
  const [citizen, setCitizen] = useState<CitizenView | null>(null);
  const { busy, error, run } = useAction();
  const show = () =>
    void run(async () => setCitizen(await ok(api.GET("/api/v1/auth/citizens/{citizen_id}", { params: { path: { citizen_id: citizenId } } }))));
  const refused = error instanceof ApiError && error.status === 404;
  return (
    <section class="card" aria-labelledby="citizen-h">
      <h2 id="citizen-h">{t("Pemohon", "Applicant")}</h2>
      <dl class="pairs">
        <div>
          <dt>{t("Nama", "Name")}</dt>
          <dd>{citizen?.name ?? name ?? <span class="muted">{t("Belum diketahui", "Not known yet")}</span>}</dd>
        </div>
        {citizen && <Contacts citizen={citizen} />}
      </dl>
      {!citizen && (
        <button type="button" onClick={show} disabled={busy}>
          {busy ? t("Membuka…", "Opening…") : t("Lihat data pemohon", "Show the applicant's details")}
        </button>
      )}
      {refused ? (
        <p class="notice small" role="alert">
          {t(
            "Data pemohon tidak dapat dibuka: hanya selama instansi Anda menangani permohonan warga ini, dan 30 hari setelah selesai. Permohonan yang baru masuk dapat dibuka sebentar lagi.",
            "The applicant's details cannot be opened: only while your agency handles an application of theirs, and for 30 days after it ends. A new application can be opened in a moment.",
          )}
        </p>
      ) : (
        <ErrorBox error={error} />
      )}
      <p class="muted small">{t("Setiap akses ke data pemohon dicatat.", "Every look at the applicant's data is recorded.")}</p>
    </section>
  );
}

function Contacts({ citizen: c }: { citizen: CitizenView }) {
  return (
    <>
      <div>
        <dt>NIK</dt>
        <dd>
          <span class="mono">{c.nik ?? c.nik_masked}</span>
          {!c.nik && (
            <span class="muted small">
              {" "}
              {t("(disamarkan: layanan ini tidak memerlukan NIK lengkap)", "(masked: this service does not need the whole NIK)")}
            </span>
          )}
        </dd>
      </div>
      <div>
        <dt>{t("Telepon", "Phone")}</dt>
        <dd>
          <span class="mono">{c.phone}</span>{" "}
          {c.phone_verified ? (
            <span class="badge ok">{t("terverifikasi", "verified")}</span>
          ) : (
            <span class="badge warn">{t("belum diverifikasi", "not verified")}</span>
          )}
        </dd>
      </div>
      <div>
        <dt>{t("Surel", "E-mail")}</dt>
        <dd>{c.email || "—"}</dd>
      </div>
      <div>
        <dt>{t("Bahasa", "Language")}</dt>
        <dd>{c.language === "en" ? "English" : "Bahasa Indonesia"}</dd>
      </div>
    </>
  );
}

// ---- history --------------------------------------------------------------------------------

function History({ lines, workflow }: { lines: Schemas["HistoryLine"][]; workflow: Service["workflow"] }) {
  const actionLabel = (code: string) => {
    const action = workflow?.actions.find((a) => a.code === code);
    if (action) return loc(action.label);
    if (code === "submit") return t("Pengajuan", "Submission");
    return code.replace(/_/g, " ");
  };
  const stateName = (code: string) => {
    const state = workflow?.states.find((s) => s.code === code);
    return state ? loc(state.label) : stateLabel(code);
  };
  const newestFirst = [...lines].reverse();
  return (
    <ol class="timeline history" reversed>
      {newestFirst.map((line, index) => (
        <li key={`${line.at}-${index}`}>
          <time dateTime={line.at}>{dateTime(line.at)}</time>
          <strong>{actionLabel(line.action)}</strong>
          <span class="muted small"> · {roleLabel(line.actor_role)}</span>
          <div class="transition">
            {line.from_state ? (
              <>
                <span>{stateName(line.from_state)}</span>
                <span aria-hidden="true"> → </span>
                <span class="visually-hidden">{t("menjadi", "to")} </span>
              </>
            ) : null}
            <span class="to">{stateName(line.to_state)}</span>
          </div>
          {line.note && <blockquote class="note">{line.note}</blockquote>}
          <LineDetails line={line} />
        </li>
      ))}
    </ol>
  );
}
