// The satisfaction survey (Survei Kepuasan Masyarakat, SKM) of a completed application: nine
// elements, each answered on a scale of four, once; afterwards the answers and a thank-you.
import { useRef, useState } from "preact/hooks";
import { ApiError, ok, type Schemas } from "../../lib/api";
import { dateTime, loc, t } from "../../lib/i18n";
import { ErrorBox, Field, Loading, useAction, useLoad } from "../../lib/ui";
import { api } from "../session";
import "./more.css";

type Question = Schemas["Element"];
type Scores = Schemas["Scores"];
type Rating = Schemas["Survey"];
type Code = keyof Scores;

export function Survey({ id }: { id: string }) {
  const path = { application_id: id };
  const elements = useLoad(() => ok(api.GET("/api/v1/surveys/elements")), []);
  const application = useLoad(() => ok(api.GET("/api/v1/applications/{application_id}", { params: { path } })), [id]);
  // Not answered yet is a 404.
  const answered = useLoad(
    () =>
      ok(api.GET("/api/v1/applications/{application_id}/survey", { params: { path } })).catch((failure) => {
        if (failure instanceof ApiError && failure.status === 404) return null;
        throw failure;
      }),
    [id],
  );
  const [sent, setSent] = useState<Rating | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const error = elements.error || application.error || answered.error;
  if (error) return <ErrorBox error={error} />;
  if (!elements.data || !application.data || answered.data === undefined) return <Loading />;
  const a = application.data;
  const survey = sent ?? answered.data;
  return (
    <section>
      <p class="small">
        <a href={`/permohonan/${id}`}>← {loc(a.service_name)}</a>
      </p>
      <h1 tabIndex={-1} ref={heading}>
        {t("Survei kepuasan", "Satisfaction survey")}
      </h1>
      <p class="muted small">
        {loc(a.service_name)} · <span class="mono">{a.tracking_number}</span>
      </p>
      {survey ? (
        <Answers survey={survey} elements={elements.data.elements} />
      ) : a.state.code !== "completed" ? (
        <ErrorBox error={new Error(t("Survei kepuasan dapat diisi setelah layanan selesai.", "The satisfaction survey opens once the service is completed."))} />
      ) : (
        <SurveyForm id={id} elements={elements.data.elements} onSent={(done) => (setSent(done), setTimeout(() => heading.current?.focus()))} />
      )}
    </section>
  );
}

function SurveyForm({ id, elements, onSent }: { id: string; elements: Question[]; onSent: (survey: Rating) => void }) {
  const [scores, setScores] = useState<Partial<Scores>>({});
  const [comment, setComment] = useState("");
  const [tried, setTried] = useState(false);
  const { busy, error, run } = useAction();
  const unanswered = elements.filter((el) => scores[el.code as Code] === undefined);
  const missing = tried ? unanswered.map((el) => el.code) : [];

  const choose = (code: string, score: number) => setScores({ ...scores, [code]: score });
  const submit = async (e: Event) => {
    e.preventDefault();
    if (unanswered.length) {
      setTried(true);
      document.getElementById(`survey-${unanswered[0].code}`)?.querySelector("input")?.focus();
      return;
    }
    const body = { scores: scores as Scores, comment: comment.trim() || null };
    const done = await run(() => ok(api.POST("/api/v1/applications/{application_id}/survey", { params: { path: { application_id: id } }, body })));
    if (done) onSent(done);
  };
  const incomplete =
    missing.length > 0 &&
    new Error(t(`Jawab semua pertanyaan. Belum dijawab: ${unanswered.map((el) => loc(el.name)).join(", ")}.`, `Answer every question. Not answered: ${unanswered.map((el) => loc(el.name)).join(", ")}.`));

  return (
    <form onSubmit={submit} noValidate>
      <p>
        {t(
          "Bantu kami memperbaiki layanan: jawab sembilan pertanyaan singkat. Jawaban Anda dihitung dalam Indeks Kepuasan Masyarakat (IKM) tanpa nama.",
          "Help us improve: answer nine short questions. Your answers count in the public satisfaction index (IKM), without your name.",
        )}
      </p>
      {elements.map((element, i) => (
        <fieldset key={element.code} id={`survey-${element.code}`} aria-describedby={`survey-${element.code}-q`} class={missing.includes(element.code) ? "card survey-element missing" : "card survey-element"}>
          <legend>
            {i + 1}. {loc(element.name)}
          </legend>
          <p class="question" id={`survey-${element.code}-q`}>
            {loc(element.question)}
          </p>
          <div class="scale">
            {element.options.map((option) => (
              <label key={option.score}>
                <input type="radio" name={element.code} value={option.score} checked={scores[element.code as Code] === option.score} onChange={() => choose(element.code, option.score)} />
                {loc(option.label)}
              </label>
            ))}
          </div>
          {missing.includes(element.code) && <p class="field-error">{t("Pilih salah satu jawaban.", "Choose one answer.")}</p>}
        </fieldset>
      ))}
      <div class="card">
        <Field label={t("Saran atau komentar (tidak wajib)", "Suggestions or comments (optional)")}>
          {(p) => <textarea {...p} name="comment" maxLength={2000} value={comment} onInput={(e) => setComment(e.currentTarget.value)} />}
        </Field>
      </div>
      <p class="small muted" role="status" aria-live="polite">
        {t(`${elements.length - unanswered.length} dari ${elements.length} pertanyaan terjawab`, `${elements.length - unanswered.length} of ${elements.length} questions answered`)}
      </p>
      <ErrorBox error={incomplete || error} />
      <button type="submit" class="primary wide" disabled={busy}>
        {busy ? t("Mengirim…", "Sending…") : t("Kirim survei", "Send the survey")}
      </button>
    </form>
  );
}

function Answers({ survey, elements }: { survey: Rating; elements: Question[] }) {
  return (
    <>
      <div class="success" role="status">
        <p>
          <strong>{t("Terima kasih atas penilaian Anda!", "Thank you for your rating!")}</strong>
        </p>
        <p>{t(`Dikirim ${dateTime(survey.submitted_at)}. Penilaian Anda membantu MPP memperbaiki layanan.`, `Sent ${dateTime(survey.submitted_at)}. Your rating helps the mall improve its services.`)}</p>
      </div>
      <div class="card">
        <h2>{t("Jawaban Anda", "Your answers")}</h2>
        <ul class="answers">
          {elements.map((element) => {
            const score = survey.scores[element.code as Code];
            const option = element.options.find((o) => o.score === score);
            return (
              <li key={element.code}>
                <span>{loc(element.name)}</span>
                <strong>{option ? loc(option.label) : score}</strong>
              </li>
            );
          })}
        </ul>
        {survey.comment && (
          <>
            <h3>{t("Komentar", "Comment")}</h3>
            <p class="message">{survey.comment}</p>
          </>
        )}
      </div>
      <a class="button wide" href={`/permohonan/${survey.application_id}`}>
        {t("Kembali ke permohonan", "Back to the application")}
      </a>
    </>
  );
}
