// The headline figures: big enough to read from across the room.
import type { ComponentChildren } from "preact";
import { useId } from "preact/hooks";
import { loc, number, t } from "../../lib/i18n";
import { Changing } from "../charts";
import { gradeOf, notAvailable, percent, shareTone } from "../labels";
import type { Board } from "../types";

type TileProps = {
  label: string;
  /** The figure as shown; undefined while loading, null when not available. */
  shown: string | null | undefined;
  /** What changes light the tile up. */
  raw: unknown;
  sub?: string;
  tone?: string;
  extra?: ComponentChildren;
};

function Tile({ label, shown, raw, sub, tone = "", extra }: TileProps) {
  const id = useId();
  return (
    <div class={`tile ${tone}`} role="group" aria-labelledby={id}>
      <h3 id={id}>{label}</h3>
      <p class="tile-value">
        <Changing value={raw}>{shown === undefined ? "…" : shown === null ? "—" : shown}</Changing>
        {extra}
      </p>
      <p class="tile-sub">{shown === null ? notAvailable() : sub ?? "\u00a0"}</p>
    </div>
  );
}

/** A part's figure: undefined while the part is loading, null when it is not available. */
function of<P, V>(part: P | null | undefined, pick: (part: P) => V): V | null | undefined {
  return part === undefined ? undefined : part === null ? null : pick(part);
}

export function Tiles({ board }: { board: Board }) {
  const summary = board.applications;
  const ikm = board.ikm;
  const today = board.deliveries === undefined ? undefined : board.deliveries === null ? null : board.deliveries.today;
  const done = summary ? summary.agencies.reduce((n, a) => n + a.completed_30d, 0) : 0;
  const onTime = summary ? summary.agencies.reduce((n, a) => n + a.completed_on_time_30d, 0) : 0;
  const overdue = of(summary, (s) => s.overdue);
  const grade = ikm ? gradeOf(ikm.ikm, ikm.grade) : null;
  return (
    <section class="tiles" aria-labelledby="tiles-title">
      <h2 id="tiles-title" class="visually-hidden">
        {t("Ringkasan", "Summary")}
      </h2>
      <Tile
        label={t("Permohonan hari ini", "Applications today")}
        raw={of(summary, (s) => s.submitted_today)}
        shown={of(summary, (s) => number(s.submitted_today))}
        sub={t("diajukan sejak 00.00 WITA", "submitted since 00:00 WITA")}
      />
      <Tile
        label={t("Antrean terbuka", "Open backlog")}
        raw={of(summary, (s) => s.open)}
        shown={of(summary, (s) => number(s.open))}
        sub={t("permohonan belum selesai", "applications not finished")}
      />
      <Tile
        label={t("Lewat batas waktu", "Overdue")}
        raw={overdue}
        shown={of(summary, (s) => number(s.overdue))}
        tone={overdue ? "bad" : overdue === 0 ? "ok" : ""}
        sub={overdue ? t("melewati SLA — segera tangani", "past their SLA — act now") : t("semua dalam SLA", "all within SLA")}
      />
      <Tile
        label={t("Kepatuhan SLA 30 hari", "SLA met, 30 days")}
        raw={of(summary, (s) => s.sla_compliance_30d)}
        shown={of(summary, (s) => percent(s.sla_compliance_30d))}
        tone={summary ? shareTone(summary.sla_compliance_30d) : ""}
        sub={
          done
            ? t(`${number(onTime)} dari ${number(done)} selesai tepat waktu`, `${number(onTime)} of ${number(done)} finished on time`)
            : t("belum ada yang selesai", "none finished yet")
        }
      />
      <Tile
        label={t("Indeks Kepuasan (IKM)", "Satisfaction index (IKM)")}
        raw={of(ikm, (r) => r.ikm)}
        shown={of(ikm, (r) => (r.ikm === null ? "—" : number(r.ikm, 2)))}
        extra={grade && <span class={`grade grade-${grade.code}`}>{grade.code}</span>}
        sub={
          ikm
            ? grade
              ? `${loc(grade.label)} · ${t(`${number(ikm.respondents)} responden`, `${number(ikm.respondents)} respondents`)}`
              : t("belum ada penilaian", "no ratings yet")
            : undefined
        }
      />
      <Tile
        label={t("Notifikasi terkirim", "Notifications delivered")}
        raw={of(today, (d) => d.delivery_rate)}
        shown={of(today, (d) => percent(d.delivery_rate))}
        tone={today ? shareTone(today.delivery_rate) : ""}
        sub={
          today
            ? t(
                `hari ini: ${number(today.by_status.delivered ?? 0)} terkirim, ${number(today.failed)} gagal`,
                `today: ${number(today.by_status.delivered ?? 0)} delivered, ${number(today.failed)} failed`,
              )
            : undefined
        }
      />
    </section>
  );
}
