// Open applications by workflow state, as horizontal bars.
import { number, t } from "../../lib/i18n";
import { Bar, Changing } from "../charts";
import { STATE_ORDER, stateLabel, USUAL_OPEN_STATES } from "../labels";
import type { Summary } from "../types";
import { Panel, Part } from "./panel";

function ordered(byState: Record<string, number>): [string, number][] {
  const codes = new Set([...USUAL_OPEN_STATES, ...Object.keys(byState)]);
  const rank = (code: string) => {
    const i = STATE_ORDER.indexOf(code);
    return i < 0 ? STATE_ORDER.length : i;
  };
  return [...codes].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b)).map((code) => [code, byState[code] ?? 0]);
}

export function States({ summary, error }: { summary: Summary | null | undefined; error?: string }) {
  return (
    <Panel id="states-title" title={t("Permohonan terbuka per status", "Open applications by status")} class="states">
      <Part value={summary} error={error}>
        {(s) => {
          const rows = ordered(s.by_state);
          const scale = Math.max(...rows.map(([, n]) => n), 1);
          return (
            <table class="bars">
              <caption class="visually-hidden">{t("Jumlah permohonan terbuka per status", "Open applications per status")}</caption>
              <thead class="visually-hidden">
                <tr>
                  <th scope="col">{t("Status", "Status")}</th>
                  <td />
                  <th scope="col">{t("Jumlah", "Count")}</th>
                </tr>
              </thead>
              <tbody>
                {rows.map(([code, count]) => (
                  <tr key={code}>
                    <th scope="row">{stateLabel(code)}</th>
                    <td class="bar-cell">
                      <Bar scale={scale} segments={[{ value: count, tone: code === "revision_requested" ? "wait" : "info" }]} />
                    </td>
                    <td class="num">
                      <Changing value={count}>{number(count)}</Changing>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          );
        }}
      </Part>
    </Panel>
  );
}
