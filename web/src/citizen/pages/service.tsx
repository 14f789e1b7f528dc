// One service as its standard tells it: requirements, procedure, fee, time, product, channels.
import { loc, locList, rupiah, t } from "../../lib/i18n";
import { ErrorBox, Loading, useLoad } from "../../lib/ui";
import { agencyMap, service } from "../catalog";

export function ServicePage({ slug }: { slug: string }) {
  const found = useLoad(() => service(slug), [slug]);
  const agencies = useLoad(agencyMap, []);
  if (found.error) return <ErrorBox error={found.error} />;
  if (!found.data) return <Loading />;
  const s = found.data;
  const standard = s.standard;
  const agency = agencies.data?.get(s.agency);
  return (
    <article>
      <p class="small">
        <a href="/">← {t("Semua layanan", "All services")}</a>
      </p>
      <h1>{loc(s.name)}</h1>
      <p class="muted">{agency ? loc(agency.name) : s.agency}</p>
      <p>{loc(s.description)}</p>
      <div class="actions">
        {s.channels.includes("online") && (
          <a class="button primary wide" href={`/layanan/${s.slug}/ajukan`}>
            {t("Ajukan online", "Apply online")}
          </a>
        )}
        {s.channels.includes("booking") && (
          <a class="button wide" href={`/layanan/${s.slug}/antrean`}>
            {t("Pesan antrean di loket", "Book a counter visit")}
          </a>
        )}
      </div>
      <dl class="facts-list card">
        <dt>{t("Biaya", "Fee")}</dt>
        <dd>
          {standard.fee.amount === 0 && !standard.fee.variable ? t("Gratis", "Free") : rupiah(standard.fee.amount)}
          {standard.fee.note && <span class="muted small"> · {loc(standard.fee.note)}</span>}
        </dd>
        <dt>{t("Waktu penyelesaian", "Completion time")}</dt>
        <dd>{loc(standard.completion_time)}</dd>
        <dt>{t("Hasil layanan", "What you receive")}</dt>
        <dd>{loc(standard.product.name)}</dd>
      </dl>
      <h2>{t("Persyaratan", "Requirements")}</h2>
      <ul class="requirements">
        {standard.requirements.map((r) => (
          <li key={r.code}>
            <strong>{loc(r.name)}</strong> {r.mandatory ? "" : <span class="badge">{t("tidak wajib", "optional")}</span>}
            {r.description && <p class="small muted">{loc(r.description)}</p>}
            <p class="small muted">
              {r.formats.map((f) => f.toUpperCase()).join(", ")} · {t(`maks. ${r.max_size_mb} MB`, `max ${r.max_size_mb} MB`)}
            </p>
          </li>
        ))}
      </ul>
      <h2>{t("Alur", "Procedure")}</h2>
      <ol>
        {locList(standard.procedure).map((step, i) => (
          <li key={i}>{step}</li>
        ))}
      </ol>
      <details>
        <summary>{t("Dasar hukum dan pengaduan", "Legal basis and complaints")}</summary>
        <ul class="small">
          {locList(standard.legal_basis).map((line, i) => (
            <li key={i}>{line}</li>
          ))}
        </ul>
        <p class="small">{loc(standard.complaint_handling)}</p>
      </details>
    </article>
  );
}
