// The agency's open applications, soonest deadline first: counts, a state filter, a table that
// refreshes itself every minute, and more rows on request.
import { useLocation } from "preact-iso";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import type { Schemas } from "../lib/api";
import { dateTime, loc, number, t, time, useLang } from "../lib/i18n";
import { ErrorBox, Loading } from "../lib/ui";
import { Due, Flags, StateBadge, useHeadingFocus, useTitle } from "./common";
import { learnState, stateLabel } from "./format";
import { api, BASE, ok } from "./session";

type Inbox = Schemas["Inbox"];
type Summary = Schemas["ApplicationSummary"];

const PAGE = 50;
const MAX_PAGE = 100;
const REFRESH_MS = 60_000;

function fetchInbox(state: string | undefined, limit: number, cursor?: string): Promise<Inbox> {
  return ok(api.GET("/api/v1/applications/inbox", { params: { query: { state: state || undefined, limit, cursor } } })).then(
    (inbox) => {
      inbox.items.forEach((item) => learnState(item.state));
      return inbox;
    },
  );
}

type Loaded = { counts: Inbox; items: Summary[]; next: string | null; at: number };

/** The inbox of one state filter: first load, quiet refresh of what is shown, and more rows. */
function useInbox(state: string | undefined) {
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState<"" | "refresh" | "more">("");
  const latest = useRef(0);
  const shown = useRef(0);

  const load = useCallback(
    async (mode: "first" | "refresh" | "more", cursor?: string) => {
      const mine = ++latest.current;
      if (mode !== "first") setBusy(mode);
      try {
        const limit = mode === "refresh" ? Math.min(MAX_PAGE, Math.max(PAGE, shown.current)) : PAGE;
        const inbox = await fetchInbox(state, limit, cursor);
        if (mine !== latest.current) return false;
        setLoaded((before) => {
          const items = mode === "more" && before ? [...before.items, ...inbox.items] : inbox.items;
          shown.current = items.length;
          return { counts: inbox, items, next: inbox.next_cursor ?? null, at: Date.now() };
        });
        setError(null);
        return true;
      } catch (failure) {
        if (mine === latest.current) setError(failure);
        return false;
      } finally {
        if (mine === latest.current) setBusy("");
      }
    },
    [state],
  );

  useEffect(() => {
    setLoaded(null);
    shown.current = 0;
    void load("first");
    const timer = setInterval(() => {
      if (!document.hidden) void load("refresh");
    }, REFRESH_MS);
    return () => clearInterval(timer);
  }, [load]);

  return { loaded, error, busy, load };
}

function Counts({ counts }: { counts: Inbox }) {
  return (
    <>
      <ul class="counts" aria-label={t("Ringkasan", "Summary")} aria-describedby="counts-note">
        <li class="count">
          <span class="count-value">{number(counts.open)}</span>{" "}
          <span class="count-label">{t("Terbuka", "Open")}</span>
        </li>
        <li class={counts.nearing_due > 0 ? "count warn" : "count"}>
          <span class="count-value">{number(counts.nearing_due)}</span>{" "}
          <span class="count-label">{t("Mendekati tenggat", "Nearing due")}</span>
        </li>
        <li class={counts.overdue > 0 ? "count bad" : "count"}>
          <span class="count-value">{number(counts.overdue)}</span>{" "}
          <span class="count-label">{t("Terlambat", "Overdue")}</span>
        </li>
      </ul>
      <p id="counts-note" class="muted small counts-note">
        {t("Mendekati tenggat: sisa waktunya kurang dari satu hari kerja.", "Nearing due: less than one working day left.")}
      </p>
    </>
  );
}

function StateFilter({ counts, current }: { counts: Inbox; current: string | undefined }) {
  const states = Object.entries(counts.by_state).sort((a, b) => b[1] - a[1]);
  if (current && !counts.by_state[current]) states.push([current, 0]);
  const link = (code: string | undefined, label: string, count: number) => (
    <li key={code ?? "all"}>
      <a
        href={code ? `${BASE}/?state=${encodeURIComponent(code)}` : `${BASE}/`}
        class="chip"
        aria-current={code === current ? "page" : undefined}
      >
        {label} <span class="chip-count">{number(count)}</span>
      </a>
    </li>
  );
  return (
    <nav aria-label={t("Saring menurut status", "Filter by state")}>
      <ul class="chips">
        {link(undefined, t("Semua status", "All states"), counts.open)}
        {states.map(([code, count]) => link(code, stateLabel(code), count))}
      </ul>
    </nav>
  );
}

/** A name not known yet (the identity service's news of the citizen is still on its way). */
function Unknown() {
  return (
    <span class="muted">
      <span aria-hidden="true">—</span>
      <span class="visually-hidden">{t("belum diketahui", "not known yet")}</span>
    </span>
  );
}

function Row({ item, now }: { item: Summary; now: number }) {
  return (
    <tr class={item.overdue ? "late" : item.nearing_due ? "near" : undefined}>
      <th scope="row">
        <a href={`${BASE}/permohonan/${encodeURIComponent(item.id)}`} class="tracking">
          {item.tracking_number}
        </a>
      </th>
      <td>{item.applicant_name || <Unknown />}</td>
      <td>{loc(item.service_name)}</td>
      <td>
        <StateBadge code={item.state.code} label={item.state.label} />
      </td>
      <td class="nowrap">{dateTime(item.submitted_at)}</td>
      <td class="nowrap">
        <Due iso={item.due_at} now={now} />
      </td>
      <td>
        <Flags overdue={item.overdue} nearing={item.nearing_due} />
      </td>
    </tr>
  );
}

function Table({ items, now, state }: { items: Summary[]; now: number; state: string | undefined }) {
  if (items.length === 0) {
    return (
      <p class="empty">
        {state
          ? t(`Tidak ada permohonan berstatus "${stateLabel(state)}".`, `No applications in "${stateLabel(state)}".`)
          : t("Tidak ada permohonan terbuka. Kerja bagus!", "No open applications. Well done!")}
      </p>
    );
  }
  return (
    <div class="table-wrap">
      <table class="inbox-table">
        <caption class="visually-hidden">{t("Permohonan terbuka, tenggat terdekat di atas", "Open applications, soonest deadline first")}</caption>
        <thead>
          <tr>
            <th scope="col">{t("Nomor registrasi", "Tracking number")}</th>
            <th scope="col">{t("Pemohon", "Applicant")}</th>
            <th scope="col">{t("Layanan", "Service")}</th>
            <th scope="col">{t("Status", "State")}</th>
            <th scope="col">{t("Diajukan", "Submitted")}</th>
            <th scope="col" aria-sort="ascending">
              {t("Tenggat", "Due")}
            </th>
            <th scope="col">{t("Tanda", "Flags")}</th>
          </tr>
        </thead>
        <tbody>
          {items.map((item) => (
            <Row key={item.id} item={item} now={now} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function InboxPage() {
  useLang();
  const { query } = useLocation();
  const state = query.state || undefined;
  const { loaded, error, busy, load } = useInbox(state);
  const [announced, setAnnounced] = useState("");
  const heading = useHeadingFocus(true);
  useTitle(t("Kotak masuk", "Inbox"));

  const refresh = async () => {
    setAnnounced("");
    if (await load("refresh")) setAnnounced(t("Daftar diperbarui.", "List updated."));
  };
  const more = async () => {
    if (!loaded?.next) return;
    const before = loaded.items.length;
    setAnnounced("");
    if (await load("more", loaded.next)) setAnnounced(t("Baris berikutnya dimuat.", "More rows loaded."));
    // Keyboard users continue from the first new row.
    requestAnimationFrame(() => document.querySelectorAll<HTMLAnchorElement>(".inbox-table tbody a.tracking")[before]?.focus());
  };

  return (
    <main id="main" class="desk-main">
      <div class="spread page-head">
        <h1 ref={heading} tabIndex={-1}>
          {t("Kotak masuk", "Inbox")}
          {state && <span class="h-sub"> · {stateLabel(state)}</span>}
        </h1>
        <div class="row">
          {loaded && (
            <span class="muted small">
              {t("Diperbarui", "Updated")} {time(new Date(loaded.at).toISOString())}
            </span>
          )}
          <button type="button" onClick={() => void refresh()} disabled={busy !== ""}>
            {busy === "refresh" ? t("Memuat ulang…", "Refreshing…") : t("Muat ulang", "Refresh")}
          </button>
        </div>
      </div>
      <p role="status" class="visually-hidden">
        {announced}
      </p>
      {error && loaded ? (
        <p class="notice small">
          {t("Gagal memperbarui", "Could not refresh")}: {error instanceof Error ? error.message : String(error)}{" "}
          {t("Menampilkan data terakhir yang berhasil dimuat.", "Showing the last data loaded.")}
        </p>
      ) : (
        <ErrorBox error={error} />
      )}
      {!loaded && !error && <Loading />}
      {loaded && (
        <>
          <Counts counts={loaded.counts} />
          <StateFilter counts={loaded.counts} current={state} />
          <Table items={loaded.items} now={loaded.at} state={state} />
          <div class="spread table-foot">
            <span class="muted small">
              {t(`Menampilkan ${loaded.items.length} permohonan`, `Showing ${loaded.items.length} applications`)}
            </span>
            {loaded.next && (
              <button type="button" onClick={() => void more()} disabled={busy !== ""}>
                {busy === "more" ? t("Memuat…", "Loading…") : t("Muat lebih banyak", "Load more")}
              </button>
            )}
          </div>
        </>
      )}
    </main>
  );
}
