// The community satisfaction index (IKM) on a gauge with its grade bands; the chosen agency's
// index is marked on the same gauge.
import { loc, number, t } from "../../lib/i18n";
import { Changing, Gauge } from "../charts";
import { gradeOf } from "../labels";
import type { IkmReport } from "../types";
import { Panel, Part } from "./panel";

type Props = { report: IkmReport | null | undefined; error?: string; chosen: { code: string; name: string } | null };

export function Ikm({ report, error, chosen }: Props) {
  return (
    <Panel id="ikm-title" title={t("Kepuasan masyarakat (IKM)", "Satisfaction index (IKM)")} class="ikm">
      <Part value={report} error={error}>
        {(r) => {
          const grade = gradeOf(r.ikm, r.grade);
          const agency = chosen ? r.agencies.find((a) => a.agency === chosen.code) : undefined;
          const marker = chosen && agency?.ikm != null ? { ikm: agency.ikm, name: chosen.name } : null;
          const agencyGrade = agency ? gradeOf(agency.ikm, agency.grade) : null;
          return (
            <div class="ikm-body">
              <Gauge ikm={r.ikm} grade={grade} marker={marker} />
              <p class="ikm-value" aria-hidden="true">
                <Changing value={r.ikm}>{r.ikm === null ? "—" : number(r.ikm, 2)}</Changing>
                {grade && <span class={`grade grade-${grade.code}`}>{grade.code}</span>}
              </p>
              <p class="ikm-grade">
                {grade ? loc(grade.label) : t("Belum ada penilaian", "No ratings yet")}
                <span class="muted"> · {t(`${number(r.respondents)} responden`, `${number(r.respondents)} respondents`)}</span>
              </p>
              {chosen && (
                <p class="ikm-agency">
                  <span class="swatch marker-swatch" aria-hidden="true" />
                  {chosen.name}:{" "}
                  <strong>
                    {agency?.ikm != null ? `${number(agency.ikm, 2)} ${agencyGrade ? `(${agencyGrade.code}, ${loc(agencyGrade.label)})` : ""}` : t("belum ada penilaian", "no ratings yet")}
                  </strong>
                </p>
              )}
            </div>
          );
        }}
      </Part>
    </Panel>
  );
}
