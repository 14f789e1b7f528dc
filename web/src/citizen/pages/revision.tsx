// Fixing what the officer named when sending the application back: each answer to correct
// (prefilled, checked as on the apply form) and each document to replace, with the officer's
// note beside it, sent in one resubmission. Only these can be changed.
import { useState } from "preact/hooks";
import { ok, upload, type Schemas } from "../../lib/api";
import { formProblems, normalisedForm, type FormSchema, type Property } from "../../lib/formats";
import { loc, t } from "../../lib/i18n";
import { ErrorBox, ErrorSummary, Field, useAction, type Problem } from "../../lib/ui";
import { api, session } from "../session";
import { FormField } from "./apply";

type Application = Schemas["Application"];
type Service = Schemas["Service"];

const MIME: Record<string, string> = { pdf: "application/pdf", jpeg: "image/jpeg", png: "image/png", heic: "image/heic", webp: "image/webp" };

export function Revision({ application, service, onDone }: { application: Application; service: Service | undefined; onDone: () => void }) {
  const asked = application.revision ?? [];
  const fields = asked.filter((item) => item.kind === "field");
  const requirements = asked.filter((item) => item.kind === "requirement");
  const schema = (service?.form_schema ?? {}) as FormSchema;
  const [answers, setAnswers] = useState<Record<string, unknown>>(() => Object.fromEntries(fields.map((item) => [item.name, application.form[item.name] ?? ""])));
  const [files, setFiles] = useState<Record<string, File>>({});
  const [note, setNote] = useState("");
  const [problems, setProblems] = useState<Problem[]>([]);
  const [attempt, setAttempt] = useState(0);
  const { busy, error, run } = useAction();
  const resubmit = application.actions.find((action) => action.code !== "cancel" && !action.requires_note);
  if (!asked.length || !resubmit) return null;

  const check = (form: Record<string, unknown>): Problem[] => {
    const found = formProblems(schema, { ...application.form, ...form });
    const wrong: Problem[] = fields.flatMap((item) => {
      const problem = found.get(item.name);
      return problem ? [{ id: `field-${item.name}`, label: loc(item.label), message: loc(problem) }] : [];
    });
    const missing: Problem[] = requirements
      .filter((item) => !files[item.name])
      .map((item) => ({ id: `replace-${item.name}`, label: loc(item.label), message: t("Unggah dokumen pengganti.", "Upload a replacement.") }));
    return [...wrong, ...missing];
  };

  const send = async () => {
    const form = normalisedForm(schema, answers);
    const found = check(form);
    setProblems(found);
    if (found.length) {
      setAttempt((n) => n + 1);
      return;
    }
    const done = await run(async () => {
      const documents: Record<string, string[]> = {};
      for (const item of requirements) {
        const file = files[item.name];
        const body = new FormData();
        body.append("file", file, file.name);
        body.append("service", application.service_slug);
        body.append("requirement", item.name);
        const uploaded = await upload<Schemas["DocumentView"]>(session, "/documents", body, () => undefined);
        documents[item.name] = [uploaded.id];
      }
      return ok(
        api.POST("/api/v1/applications/{application_id}/actions/{action}", {
          params: { path: { application_id: application.id, action: resubmit.code } },
          body: { note: note.trim() || null, form: fields.length ? form : null, documents: requirements.length ? documents : null },
        }),
      );
    });
    if (done) onDone();
  };

  const problemOf = (id: string) => problems.find((p) => p.id === id)?.message;
  return (
    <section class="card revision" aria-labelledby="revision-h">
      <h2 id="revision-h">{t("Yang harus Anda perbaiki", "What you need to fix")}</h2>
      <p class="small">{t("Petugas meminta perbaikan berikut. Hanya ini yang dapat diubah.", "The officer asked for these changes. Only these can be changed.")}</p>
      <ErrorSummary problems={problems} attempt={attempt} />
      {fields.map((item) => {
        const property: Property = schema.properties?.[item.name] ?? { type: "string", "x-label": item.label };
        return (
          <div key={item.name} class="revision-item">
            {item.note && (
              <p class="note">
                <strong>{loc(item.label)}</strong>: “{item.note}”
              </p>
            )}
            <FormField
              name={item.name}
              property={property}
              required={(schema.required ?? []).includes(item.name)}
              value={answers[item.name]}
              error={problemOf(`field-${item.name}`)}
              onChange={(value) => {
                setAnswers({ ...answers, [item.name]: value });
                setProblems(problems.filter((p) => p.id !== `field-${item.name}`));
              }}
            />
          </div>
        );
      })}
      {requirements.map((item) => {
        const requirement = service?.standard.requirements.find((r) => r.code === item.name);
        const accept = requirement?.formats.map((f) => MIME[f] ?? `.${f}`).join(",");
        return (
          <div key={item.name} class="revision-item">
            {item.note && (
              <p class="note">
                <strong>{loc(item.label)}</strong>: “{item.note}”
              </p>
            )}
            <Field id={`replace-${item.name}`} label={t(`${loc(item.label)} (dokumen baru)`, `${loc(item.label)} (new document)`)} error={problemOf(`replace-${item.name}`)}>
              {(p) => (
                <input
                  {...p}
                  type="file"
                  accept={accept}
                  onChange={(e) => {
                    const file = e.currentTarget.files?.[0];
                    if (file) setFiles({ ...files, [item.name]: file });
                    setProblems(problems.filter((p) => p.id !== `replace-${item.name}`));
                  }}
                />
              )}
            </Field>
          </div>
        );
      })}
      <Field label={t("Catatan untuk petugas (tidak wajib)", "Note for the officer (optional)")}>
        {(p) => <textarea {...p} value={note} onInput={(e) => setNote(e.currentTarget.value)} />}
      </Field>
      <ErrorBox error={error} />
      <div class="row">
        <button type="button" class="primary" disabled={busy} onClick={() => void send()}>
          {busy ? t("Mengirim…", "Sending…") : loc(resubmit.label)}
        </button>
      </div>
    </section>
  );
}
