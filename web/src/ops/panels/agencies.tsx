// Every agency of the mall, worst first: most overdue, then the largest backlog, then the lowest
// SLA compliance. Open applications are drawn as a bar with the overdue part in red.
import { loc, number, t } from "../../lib/i18n";
import { Bar, Changing, Legend } from "../charts";
import { gradeOf, percent, ratio, shareTone } from "../labels";
import type { Agency, AgencyFigures, AgencyIkm, Summary } from "../types";
import { Panel, Part } from "./panel";

export type AgencyRow = {
  code: string;
  short: string;
  name: string;
  figures: AgencyFigures | null;
  ikm: AgencyIkm | null;
  sla: number | null;
};

export function agencyRows(agencies: Agency[], summary: Summary, ikm: AgencyIkm[]): AgencyRow[] {
  const figures = new Map(summary.agencies.map((a) => [a.agency, a]));
  const scores = new Map(ikm.map((a) => [a.agency, a]));
  const known = new Map(agencies.map((a) => [a.code, a]));
  const codes = new Set([...known.keys(), ...figures.keys(), ...scores.keys()]);
  const rows = [...codes].map((code): AgencyRow => {
    const agency = known.get(code);
    const f = figures.get(code) ?? null;
    return {
      code,
      short: agency?.short_name ?? code,
      name: agency ? loc(agency.name) : code,
      figures: f,
      ikm: scores.get(code) ?? null,
      sla: f ? ratio(f.completed_on_time_30d, f.completed_30d) : null,
    };
  });
  const worst = (a: AgencyRow, b: AgencyRow) =>
    (b.figures?.overdue ?? 0) - (a.figures?.overdue ?? 0) ||
    (b.figures?.open ?? 0) - (a.figures?.open ?? 0) ||
    (a.sla ?? 2) - (b.sla ?? 2) ||
    (b.figures?.submitted_today ?? 0) - (a.figures?.submitted_today ?? 0) ||
    a.short.localeCompare(b.short);
  return rows.sort(worst);
}

type Props = {
  agencies: Agency[] | undefined;
  summary: Summary | null | undefined;
  ikm: AgencyIkm[];
  error?: string;
  chosen: string;
};

export function Agencies({ agencies, summary, ikm, error, chosen }: Props) {
  return (
    <Panel
      id="agencies-title"
      title={t("Per instansi", "Per agency")}
      class="agencies"
      aside={
        <Legend
          items={[
            ["info", t("terbuka", "open")],
            ["bad", t("lewat batas", "overdue")],
          ]}
        />
      }
    >
      <Part value={agencies === undefined ? undefined : summary} error={error}>
        {(s) => {
          const all = agencyRows(agencies ?? [], s, ikm);
          const rows = chosen ? all.filter((r) => r.code === chosen) : all;
          const scale = Math.max(...all.map((r) => r.figures?.open ?? 0), 1);
          return (
            <div class="scroll" tabIndex={0} role="region" aria-labelledby="agencies-title">
              <table class="agency-table">
                <caption class="visually-hidden">
                  {t("Instansi, diurutkan dari yang paling banyak lewat batas waktu", "Agencies, most overdue first")}
                </caption>
                <colgroup>
                  <col class="col-name" />
                  <col class="col-today" />
                  <col class="col-open" />
                  <col class="col-overdue" />
                  <col class="col-sla" />
                  <col class="col-ikm" />
                </colgroup>
                <thead>
                  <tr>
                    <th scope="col">{t("Instansi", "Agency")}</th>
                    <th scope="col" class="num">
                      {t("Hari ini", "Today")}
                    </th>
                    <th scope="col" class="num">
                      {t("Terbuka", "Open")}
                    </th>
                    <th scope="col" class="num">
                      {t("Lewat batas", "Overdue")}
                    </th>
                    <th scope="col" class="num">
                      {t("SLA 30 hari", "SLA 30 days")}
                    </th>
                    <th scope="col" class="num">
                      IKM
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map((row) => (
                    <AgencyLine key={row.code} row={row} scale={scale} chosen={row.code === chosen} />
                  ))}
                </tbody>
              </table>
            </div>
          );
        }}
      </Part>
    </Panel>
  );
}

function AgencyLine({ row, scale, chosen }: { row: AgencyRow; scale: number; chosen: boolean }) {
  const f = row.figures;
  const overdue = f?.overdue ?? 0;
  const open = f?.open ?? 0;
  const grade = row.ikm ? gradeOf(row.ikm.ikm, row.ikm.grade) : null;
  return (
    <tr class={chosen ? "chosen" : overdue > 0 ? "late" : ""} aria-current={chosen ? "true" : undefined}>
      <th scope="row">
        <span class="agency-short">{row.short}</span>
        <span class="agency-name">{row.name}</span>
        <Bar
          scale={scale}
          segments={[
            { value: overdue, tone: "bad" },
            { value: open - overdue, tone: "info" },
          ]}
        />
      </th>
      <td class="num">
        <Changing value={f?.submitted_today ?? 0}>{number(f?.submitted_today ?? 0)}</Changing>
      </td>
      <td class="num">
        <Changing value={open}>{number(open)}</Changing>
      </td>
      <td class={`num ${overdue > 0 ? "bad-text" : ""}`}>
        <Changing value={overdue}>{number(overdue)}</Changing>
      </td>
      <td class={`num tone-${shareTone(row.sla)}`}>
        <Changing value={row.sla}>{percent(row.sla)}</Changing>
      </td>
      <td class="num">
        {row.ikm?.ikm != null ? (
          <Changing value={row.ikm.ikm}>
            {number(row.ikm.ikm, 2)} {grade && <span class={`grade small grade-${grade.code}`}>{grade.code}</span>}
          </Changing>
        ) : (
          "—"
        )}
      </td>
    </tr>
  );
}
