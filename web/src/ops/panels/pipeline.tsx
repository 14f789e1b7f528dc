// The event pipeline: whether Kafka answers, how far each consumer group is behind, and what waits
// in the dead-letter topics (anything there needs a person: `make dlq-replay`).
import { number, t } from "../../lib/i18n";
import { Changing } from "../charts";
import type { PipelineHealth } from "../types";
import { Panel } from "./panel";

const SERVICES = ["catalog", "applications", "documents", "notifications", "gateway"];

/** A group's or topic's name from its service on: a test run's namespace prefix left out. */
function shown(name: string): string {
  const parts = name.split(".");
  const from = parts.findIndex((part) => SERVICES.includes(part));
  return from > 0 ? parts.slice(from).join(".") : name;
}

type Props = { health: PipelineHealth | null | undefined; error?: string };

export function Pipeline({ health, error }: Props) {
  const available = health ? health.available : health === null ? false : undefined;
  return (
    <Panel
      id="pipeline-title"
      title={t("Pemrosesan event", "Event processing")}
      class="pipeline"
      aside={
        available !== undefined && (
          <span class={`badge big ${available ? "ok" : "bad"}`}>
            {available ? t("Kafka tersedia", "Kafka available") : t("Kafka tidak tersedia", "Kafka not available")}
          </span>
        )
      }
    >
      {health === undefined && <p class="muted">{t("Menunggu data…", "Waiting for data…")}</p>}
      {health === null && (
        <div class="unavailable">
          <p>{t("Kondisi pemrosesan event tidak dapat dibaca.", "The event processing's health cannot be read.")}</p>
          {error && <p class="small muted">{error}</p>}
        </div>
      )}
      {health && <Health health={health} />}
    </Panel>
  );
}

function Health({ health }: { health: PipelineHealth }) {
  const lag = health.total_lag ?? 0;
  const dead = health.total_dead_letters ?? 0;
  return (
    <>
      <div class="pair">
        <p class={`big-figure ${lag > 0 ? "warn" : "ok"}`}>
          <span class="big-label">{t("Antrean konsumen", "Consumer lag")}</span>
          <Changing value={lag} class="big-number">
            {number(lag)}
          </Changing>
        </p>
        <p class={`big-figure ${dead > 0 ? "bad" : "ok"}`}>
          <span class="big-label">{t("Pesan gagal (DLQ)", "Failed messages (DLQ)")}</span>
          <Changing value={dead} class="big-number">
            {number(dead)}
          </Changing>
        </p>
      </div>
      <div class="pair lists">
        <table class="compact">
          <caption>{t("Antrean per grup konsumen", "Lag per consumer group")}</caption>
          <thead class="visually-hidden">
            <tr>
              <th scope="col">{t("Grup", "Group")}</th>
              <th scope="col">{t("Antrean", "Lag")}</th>
            </tr>
          </thead>
          <tbody>
            {health.consumers.map((c) => (
              <tr key={c.group}>
                <th scope="row" title={c.group}>
                  {shown(c.group)}
                </th>
                <td class={`num ${c.lag > 0 ? "warn-text" : ""}`}>
                  <Changing value={c.lag}>{number(c.lag)}</Changing>
                </td>
              </tr>
            ))}
            {health.consumers.length === 0 && (
              <tr>
                <td colSpan={2} class="muted">
                  {t("Belum ada grup konsumen.", "No consumer groups yet.")}
                </td>
              </tr>
            )}
          </tbody>
        </table>
        <table class="compact">
          <caption>{t("Pesan gagal per topik DLQ", "Failed messages per DLQ topic")}</caption>
          <thead class="visually-hidden">
            <tr>
              <th scope="col">{t("Topik", "Topic")}</th>
              <th scope="col">{t("Jumlah", "Size")}</th>
            </tr>
          </thead>
          <tbody>
            {health.dead_letters.map((d) => (
              <tr key={d.topic} class={d.size > 0 ? "late" : ""}>
                <th scope="row" title={d.topic}>
                  {shown(d.topic)}
                </th>
                <td class={`num ${d.size > 0 ? "bad-text" : ""}`}>
                  <Changing value={d.size}>{number(d.size)}</Changing>
                </td>
              </tr>
            ))}
            {health.dead_letters.length === 0 && (
              <tr>
                <td colSpan={2} class="muted">
                  {t("Tidak ada topik DLQ.", "No DLQ topics.")}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </>
  );
}
