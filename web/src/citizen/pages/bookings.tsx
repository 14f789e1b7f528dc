// Counter visits: pick a day, then a time, and get a ticket whose code (also a QR code) is shown
// at the counter. The citizen's bookings, upcoming first, and each ticket with a way to cancel.
import { useLocation } from "preact-iso";
import { useEffect, useRef, useState } from "preact/hooks";
import { API, ApiError, offlineError, ok, problemOf, type Schemas } from "../../lib/api";
import { date, lang, loc, t, time } from "../../lib/i18n";
import { ErrorBox, Loading, useAction, useLoad } from "../../lib/ui";
import { api, session } from "../session";
import "./more.css";

type Booking = Schemas["Booking"];
type Day = Schemas["Day"];
type Slot = Schemas["Slot"];
type Counter = Schemas["CounterInfo"];

/** "Senin" / "Monday" of a YYYY-MM-DD day in the regency's time. */
function weekday(day: string): string {
  return new Intl.DateTimeFormat(lang === "en" ? "en-GB" : "id-ID", { weekday: "long", timeZone: "Asia/Makassar" }).format(new Date(`${day}T12:00:00+08:00`));
}

/** "30 Nov" of a YYYY-MM-DD day: the window is a month, so no year. */
function dayMonth(day: string): string {
  return new Intl.DateTimeFormat(lang === "en" ? "en-GB" : "id-ID", { day: "numeric", month: "short", timeZone: "Asia/Makassar" }).format(new Date(`${day}T12:00:00+08:00`));
}

function seats(n: number): string {
  return t(`sisa ${n}`, `${n} left`);
}

function slotsOf(slug: string, day?: string) {
  return ok(api.GET("/api/v1/bookings/slots", { params: { query: { service: slug, date: day } } }));
}

export function Book({ slug }: { slug: string }) {
  const { route, query } = useLocation();
  const summary = useLoad(() => slotsOf(slug), [slug]);
  const [day, setDay] = useState<string | null>(null);
  const [slot, setSlot] = useState<Slot | null>(null);
  // One key per chosen slot: a retried or double-tapped booking is booked once.
  const [key, setKey] = useState("");
  const chosenDay = useLoad(async () => (day ? slotsOf(slug, day) : undefined), [slug, day]);
  const { busy, error, run } = useAction();
  const timesHeading = useRef<HTMLHeadingElement>(null);
  const confirmHeading = useRef<HTMLHeadingElement>(null);

  const pickDay = (next: string) => {
    setDay(next);
    setSlot(null);
    setTimeout(() => timesHeading.current?.focus());
  };
  const pickSlot = (next: Slot) => {
    setSlot(next);
    setKey(crypto.randomUUID());
    setTimeout(() => confirmHeading.current?.focus());
  };
  const book = async () => {
    if (!slot) return;
    const body = { service: slug, counter: slot.counter, starts_at: slot.starts_at, ...(query.application ? { application_id: query.application } : {}) };
    const booking = await run(() => ok(api.POST("/api/v1/bookings", { body, params: { header: { "Idempotency-Key": key } } })));
    if (booking) route(`/antrean/${booking.id}`);
    else chosenDay.reload(); // the slot may have filled up meanwhile
  };

  if (summary.error) return <ErrorBox error={summary.error} />;
  if (!summary.data) return <Loading />;
  const s = summary.data;
  const counters = new Map(s.counters.map((c) => [c.code, c]));
  const slots = chosenDay.data?.days[0]?.slots ?? [];
  return (
    <section>
      <p class="small">
        <a href={`/layanan/${s.service_slug}`}>← {loc(s.service_name)}</a>
      </p>
      <h1>
        {t("Pesan antrean", "Book a counter visit")}: {loc(s.service_name)}
      </h1>
      <p class="muted small">
        {t("Datang sesuai jam yang dipilih dan tunjukkan tiket di loket.", "Come at the time you choose and show the ticket at the counter.")}
      </p>

      <h2 class="step-title">
        <span class="step" aria-hidden="true">1</span>
        {t("Pilih hari", "Choose a day")}
      </h2>
      {s.days.length === 0 && <p class="notice">{t("Belum ada hari yang dapat dipesan.", "No days can be booked yet.")}</p>}
      <ul class="pick-grid">
        {s.days.map((d) => (
          <li key={d.date}>
            <DayButton day={d} pressed={d.date === day} onPick={() => pickDay(d.date)} />
          </li>
        ))}
      </ul>

      {day && (
        <>
          <h2 class="step-title" tabIndex={-1} ref={timesHeading}>
            <span class="step" aria-hidden="true">2</span>
            {t("Pilih jam", "Choose a time")} · {weekday(day)}, {date(day)}
          </h2>
          <ErrorBox error={chosenDay.error} />
          {chosenDay.loading && !slots.length && <Loading />}
          {s.counters.map((counter) => (
            <TimeChoices key={counter.code} counter={counter} many={s.counters.length > 1} slots={slots.filter((x) => x.counter === counter.code)} chosen={slot} onPick={pickSlot} />
          ))}
          {!chosenDay.loading && !chosenDay.error && slots.length === 0 && <p class="muted">{t("Tidak ada jam pada hari ini.", "No times on this day.")}</p>}
        </>
      )}

      {slot && day && (
        <div class="card">
          <h2 class="step-title" tabIndex={-1} ref={confirmHeading}>
            <span class="step" aria-hidden="true">3</span>
            {t("Periksa dan pesan", "Check and book")}
          </h2>
          <dl class="facts-list">
            <dt>{t("Layanan", "Service")}</dt>
            <dd>{loc(s.service_name)}</dd>
            <dt>{t("Hari", "Day")}</dt>
            <dd>
              {weekday(day)}, {date(day)}
            </dd>
            <dt>{t("Jam", "Time")}</dt>
            <dd>
              {time(slot.starts_at)}–{time(slot.ends_at)} WITA
            </dd>
            <dt>{t("Loket", "Counter")}</dt>
            <dd>{loc(counters.get(slot.counter)?.name) || slot.counter}</dd>
          </dl>
          <ErrorBox error={error} />
          <button type="button" class="primary wide" disabled={busy} onClick={book}>
            {busy ? t("Memesan…", "Booking…") : t("Pesan antrean ini", "Book this visit")}
          </button>
        </div>
      )}
    </section>
  );
}

function DayButton({ day, pressed, onPick }: { day: Day; pressed: boolean; onPick: () => void }) {
  const closed = !day.working_day;
  const full = day.seats_left <= 0;
  const reason = closed ? t("Tutup", "Closed") : full ? t("Penuh", "Full") : seats(day.seats_left);
  return (
    <button type="button" class="pick" aria-pressed={pressed} disabled={closed || full} onClick={onPick}>
      <strong>{weekday(day.date)}</strong>
      <span>{dayMonth(day.date)}</span>
      <span class="small">{reason}</span>
    </button>
  );
}

function TimeChoices({ counter, many, slots, chosen, onPick }: { counter: Counter; many: boolean; slots: Slot[]; chosen: Slot | null; onPick: (slot: Slot) => void }) {
  if (!slots.length) return null;
  const now = Date.now();
  return (
    <>
      {many && <h3>{loc(counter.name)}</h3>}
      <ul class="pick-grid times">
        {slots.map((slot) => {
          const gone = new Date(slot.starts_at).getTime() <= now;
          const full = slot.seats_left <= 0;
          const pressed = chosen?.counter === slot.counter && chosen.starts_at === slot.starts_at;
          return (
            <li key={slot.starts_at}>
              <button type="button" class="pick" aria-pressed={pressed} disabled={gone || full} onClick={() => onPick(slot)}>
                <strong>{time(slot.starts_at)}</strong>
                <span class="small">{gone ? t("lewat", "passed") : full ? t("penuh", "full") : seats(slot.seats_left)}</span>
              </button>
            </li>
          );
        })}
      </ul>
    </>
  );
}

// ---- my bookings -----------------------------------------------------------------------------

function upcoming(b: Booking): boolean {
  return b.state === "booked" && new Date(b.ends_at).getTime() > Date.now();
}

export function Bookings() {
  const list = useLoad(() => ok(api.GET("/api/v1/bookings", { params: { query: { limit: 100 } } })), []);
  const items = list.data?.items ?? [];
  const next = items.filter(upcoming).sort((a, b) => a.starts_at.localeCompare(b.starts_at));
  const rest = items.filter((b) => !upcoming(b)).sort((a, b) => b.starts_at.localeCompare(a.starts_at));
  return (
    <section>
      <h1>{t("Antrean saya", "My bookings")}</h1>
      <ErrorBox error={list.error} />
      {list.loading && !list.data && <Loading />}
      {list.data && items.length === 0 && (
        <p class="muted">
          {t("Belum ada antrean. Pesan dari halaman layanan yang bertanda Antrean.", "No bookings yet. Book from a service marked Booking.")} <a href="/">{t("Cari layanan", "Find a service")}</a>
        </p>
      )}
      {next.length > 0 && (
        <>
          <h2>{t("Akan datang", "Upcoming")}</h2>
          <BookingList items={next} />
        </>
      )}
      {rest.length > 0 && (
        <>
          <h2>{t("Riwayat", "Past and cancelled")}</h2>
          <BookingList items={rest} />
        </>
      )}
    </section>
  );
}

function BookingList({ items }: { items: Booking[] }) {
  return (
    <ul class="list">
      {items.map((b) => {
        const cancelled = b.state === "cancelled";
        return (
          <li key={b.id}>
            <a href={`/antrean/${b.id}`} class={upcoming(b) ? "item" : "item past"}>
              <span class="spread">
                <strong class={cancelled ? "struck" : undefined}>{loc(b.service_name)}</strong>
                {cancelled ? <span class="badge bad">{t("Dibatalkan", "Cancelled")}</span> : upcoming(b) ? <span class="badge ok">{t("Terpesan", "Booked")}</span> : <span class="badge">{t("Selesai", "Past")}</span>}
              </span>
              <span class={cancelled ? "small struck" : "small"}>
                {weekday(b.date)}, {date(b.date)} · {time(b.starts_at)} · {loc(b.counter_name)}
              </span>
              <span class="small muted mono">{b.ticket_code}</span>
            </a>
          </li>
        );
      })}
    </ul>
  );
}

// ---- one ticket ------------------------------------------------------------------------------

export function Ticket({ id }: { id: string }) {
  const found = useLoad(() => ok(api.GET("/api/v1/bookings/{booking_id}", { params: { path: { booking_id: id } } })), [id]);
  const [confirming, setConfirming] = useState(false);
  const [done, setDone] = useState(false);
  const { busy, error, run } = useAction();
  const heading = useRef<HTMLHeadingElement>(null);
  if (found.error) return <ErrorBox error={found.error} />;
  if (!found.data) return <Loading />;
  const b = found.data;
  const cancelled = b.state === "cancelled";
  const cancel = async () => {
    const result = await run(async () => {
      await ok(api.DELETE("/api/v1/bookings/{booking_id}", { params: { path: { booking_id: id } } }));
      return true;
    });
    if (result) {
      setConfirming(false);
      setDone(true);
      found.reload();
      heading.current?.focus();
    }
  };
  return (
    <article>
      <p class="small">
        <a href="/antrean">← {t("Antrean saya", "My bookings")}</a>
      </p>
      <h1 tabIndex={-1} ref={heading}>
        {t("Tiket antrean", "Booking ticket")}
      </h1>
      <p role="status" class={done ? "success" : "visually-hidden"}>
        {done ? t("Antrean dibatalkan. Kursinya kini bisa dipesan orang lain.", "Booking cancelled. Its seat is free for someone else.") : ""}
      </p>
      <div class="card ticket">
        <p class="muted small">{loc(b.service_name)}</p>
        <p class={cancelled ? "ticket-when struck" : "ticket-when"}>
          {weekday(b.date)}, {date(b.date)}
          <br />
          {time(b.starts_at)}–{time(b.ends_at)} WITA
        </p>
        <p>{loc(b.counter_name)}</p>
        {cancelled ? (
          <p>
            <span class="badge bad">{t("Dibatalkan", "Cancelled")}</span>
          </p>
        ) : (
          <TicketQr id={b.id} code={b.ticket_code} />
        )}
        <p class="small muted">{t("Kode tiket", "Ticket code")}</p>
        <strong class={cancelled ? "ticket-code mono struck" : "ticket-code mono"}>{b.ticket_code}</strong>
      </div>
      {upcoming(b) && !confirming && (
        <button type="button" class="danger wide" onClick={() => setConfirming(true)}>
          {t("Batalkan antrean", "Cancel the booking")}
        </button>
      )}
      {upcoming(b) && confirming && (
        <div class="confirm" role="group" aria-label={t("Konfirmasi pembatalan", "Confirm the cancellation")}>
          <p>
            <strong>{t("Batalkan antrean ini?", "Cancel this booking?")}</strong> {t("Kursi Anda akan dilepas.", "Your seat will be released.")}
          </p>
          <ErrorBox error={error} />
          <div class="row">
            <button type="button" class="danger" disabled={busy} onClick={cancel}>
              {busy ? t("Membatalkan…", "Cancelling…") : t("Ya, batalkan", "Yes, cancel")}
            </button>
            <button type="button" onClick={() => setConfirming(false)} disabled={busy}>
              {t("Tidak", "No, keep it")}
            </button>
          </div>
        </div>
      )}
    </article>
  );
}

/** The QR code of the ticket: an authorised request, shown through a blob URL. */
function TicketQr({ id, code }: { id: string; code: string }) {
  const [src, setSrc] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let url: string | null = null;
    let live = true;
    const load = async () => {
      const token = await session.accessToken();
      let response: Response;
      try {
        response = await fetch(`${API}/bookings/${encodeURIComponent(id)}/ticket.svg`, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
      } catch {
        throw offlineError();
      }
      if (!response.ok) throw await problemOf(response);
      url = URL.createObjectURL(await response.blob());
      if (live) setSrc(url);
    };
    load().catch((failure) => live && setError(failure instanceof ApiError ? failure : offlineError()));
    return () => {
      live = false;
      if (url) URL.revokeObjectURL(url);
    };
  }, [id]);
  if (error) return <ErrorBox error={error} />;
  if (!src) return <Loading label={t("Memuat kode QR…", "Loading the QR code…")} />;
  return <img class="ticket-qr" src={src} alt={t(`Kode QR tiket ${code}`, `QR code of ticket ${code}`)} width={240} height={240} />;
}
