// Home: find a service by typing as people talk ("bikin ktp", "akte lahir") or by category.
import { useLocation } from "preact-iso";
import { useEffect, useState } from "preact/hooks";
import { ok, type Schemas } from "../../lib/api";
import { loc, rupiah, t } from "../../lib/i18n";
import { ErrorBox, Loading, MoreButton, useLoad, usePaged } from "../../lib/ui";
import { agencyMap } from "../catalog";
import { api } from "../session";

type Summary = Schemas["ServiceSummary"];

export function Catalog() {
  const { query, route } = useLocation();
  const [text, setText] = useState(query.q ?? "");
  const category = query.kategori ?? "";
  const categories = useLoad(() => ok(api.GET("/api/v1/catalog/categories")), []);
  const agencies = useLoad(agencyMap, []);
  const q = query.q ?? "";
  // The home: what citizens apply for most, and the categories as tiles; the full list once a
  // category is chosen, words are typed, or "all services" is asked for.
  const home = !q && !category && query.semua === undefined;

  const first = usePaged<Summary, Schemas["Page_ServiceSummary_"]>(
    (cursor) => (home ? Promise.resolve({ items: [], next_cursor: null } as Schemas["Page_ServiceSummary_"]) : ok(api.GET("/api/v1/catalog/services", { params: { query: { q: q || undefined, category: (category || undefined) as Schemas["Category"] | undefined, limit: 20, cursor } } }))),
    [q, category, home],
  );
  const popular = useLoad(() => (home ? ok(api.GET("/api/v1/catalog/popular", { params: { query: { limit: 6 } } })) : Promise.resolve([])), [home]);
  const items = first.items;

  // Search as the user types, without a request per key press.
  useEffect(() => {
    if (text === q) return;
    const timer = setTimeout(() => route(search(text, category), true), 350);
    return () => clearTimeout(timer);
  }, [text]);


  return (
    <section>
      <h1>{t("Layanan apa yang Anda perlukan?", "Which service do you need?")}</h1>
      <form role="search" onSubmit={(e) => (e.preventDefault(), route(search(text, category)))}>
        <label for="q" class="visually-hidden">
          {t("Cari layanan", "Search services")}
        </label>
        <input id="q" type="search" class="search" placeholder={t("Contoh: akta kelahiran, SIM, paspor", "For example: birth certificate, driving licence")} value={text} onInput={(e) => setText(e.currentTarget.value)} />
      </form>
      {home && (
        <>
          <h2>{t("Paling sering diajukan", "Most applied for")}</h2>
          <ErrorBox error={popular.error} />
          {popular.loading && <Loading />}
          <ul class="services">
            {(popular.data ?? []).map((s) => (
              <li key={s.id}>
                <ServiceCard service={s} agency={agencies.data?.get(s.agency)?.short_name} />
              </li>
            ))}
          </ul>
          <h2>{t("Kategori layanan", "Service categories")}</h2>
          <ul class="tiles">
            {(categories.data ?? [])
              .filter((c) => c.services > 0)
              .map((c) => (
                <li key={c.code}>
                  <a href={search("", c.code)}>
                    <strong>{loc(c.label)}</strong>
                    <span class="muted small">{t(`${c.services} layanan`, `${c.services} ${c.services === 1 ? "service" : "services"}`)}</span>
                  </a>
                </li>
              ))}
            <li>
              <a href="/?semua">
                <strong>{t("Semua layanan", "All services")}</strong>
                <span class="muted small">{t("Dari A sampai Z", "From A to Z")}</span>
              </a>
            </li>
          </ul>
        </>
      )}
      {!home && categories.data && (
        <nav class="chips" aria-label={t("Kategori", "Categories")}>
          <a href={search(q, "")} aria-current={category === "" ? "true" : undefined}>
            {t("Semua", "All")}
          </a>
          {categories.data.map((c) => (
            <a key={c.code} href={search(q, c.code)} aria-current={category === c.code ? "true" : undefined}>
              {loc(c.label)}
            </a>
          ))}
        </nav>
      )}
      {!home && (
        <>
          <ErrorBox error={first.error} />
          {first.loading && items.length === 0 && <Loading />}
          <p class="visually-hidden" role="status" aria-live="polite">
            {first.loading ? "" : t(`${items.length} layanan ditemukan`, `${items.length} services found`)}
          </p>
          {!first.loading && items.length === 0 && !first.error && <p class="muted">{t("Tidak ada layanan yang cocok. Coba kata lain.", "No service matches. Try other words.")}</p>}
          <ul class="services">
            {items.map((s) => (
              <li key={s.id}>
                <ServiceCard service={s} agency={agencies.data?.get(s.agency)?.short_name} />
              </li>
            ))}
          </ul>
          <MoreButton more={first.more} />
        </>
      )}
      <p class="center small">
        <a href="/cek-dokumen">{t("Cek keaslian dokumen", "Check a document")}</a> · <a href="/pengaduan">{t("Pengaduan", "Complaints")}</a> · <a href="/antrean">{t("Antrean saya", "My bookings")}</a>
      </p>
    </section>
  );
}

function ServiceCard({ service: s, agency }: { service: Summary; agency?: string }) {
  return (
    <a href={`/layanan/${s.slug}`} class="service-card">
      <strong>{loc(s.name)}</strong>
      <span class="muted small">{agency ?? s.agency}</span>
      <span class="facts small">
        <span>{s.fee_amount === 0 && !s.fee_variable ? t("Gratis", "Free") : s.fee_variable ? t("Biaya sesuai ketentuan", "Fee varies") : rupiah(s.fee_amount)}</span>
        {s.sla_days != null && <span>{s.sla_days === 0 ? t("Selesai hari itu", "Same day") : t(`${s.sla_days} hari kerja`, `${s.sla_days} working days`)}</span>}
        {s.channels.includes("online") && <span class="badge ok">{t("Online", "Online")}</span>}
        {s.channels.includes("booking") && <span class="badge">{t("Antrean", "Booking")}</span>}
      </span>
    </a>
  );
}

function search(q: string, category: string): string {
  const params = new URLSearchParams();
  if (q.trim()) params.set("q", q.trim());
  if (category) params.set("kategori", category);
  const text = params.toString();
  return text ? `/?${text}` : "/";
}
