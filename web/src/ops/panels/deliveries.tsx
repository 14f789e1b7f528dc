// Notifications sent today per channel: delivered, failed and still pending, and the share of the
// finished ones that arrived.
import { number, t } from "../../lib/i18n";
import { Bar, Changing, Legend } from "../charts";
import { channelLabel, percent, shareTone } from "../labels";
import type { Counts, DeliveryFigures } from "../types";
import { Panel, Part } from "./panel";

function split(c: Counts) {
  const delivered = c.by_status.delivered ?? 0;
  return { delivered, failed: c.failed, pending: Math.max(c.total - delivered - c.failed, 0) };
}

export function Deliveries({ figures, error }: { figures: DeliveryFigures | null | undefined; error?: string }) {
  return (
    <Panel
      id="deliveries-title"
      title={t("Notifikasi hari ini", "Notifications today")}
      class="deliveries"
      aside={
        <Legend
          items={[
            ["ok", t("terkirim", "delivered")],
            ["bad", t("gagal", "failed")],
            ["wait", t("menunggu", "pending")],
          ]}
        />
      }
    >
      <Part value={figures} error={error}>
        {(d) => {
          const scale = Math.max(...d.today.channels.map((c) => c.total), 1);
          const total = split(d.today);
          return (
            <>
              <table class="bars channels">
                <caption class="visually-hidden">{t("Notifikasi hari ini per kanal", "Notifications today per channel")}</caption>
                <thead>
                  <tr>
                    <th scope="col">{t("Kanal", "Channel")}</th>
                    <td />
                    <th scope="col" class="num">
                      <abbr title={t("terkirim", "delivered")}>✓</abbr>
                      <span class="visually-hidden">{t("Terkirim", "Delivered")}</span>
                    </th>
                    <th scope="col" class="num">
                      <abbr title={t("gagal", "failed")}>✗</abbr>
                      <span class="visually-hidden">{t("Gagal", "Failed")}</span>
                    </th>
                    <th scope="col" class="num">
                      <abbr title={t("menunggu", "pending")}>…</abbr>
                      <span class="visually-hidden">{t("Menunggu", "Pending")}</span>
                    </th>
                    <th scope="col" class="num">
                      {t("Tingkat", "Rate")}
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {d.today.channels.map((c) => {
                    const s = split(c);
                    return (
                      <tr key={c.channel}>
                        <th scope="row">{channelLabel(c.channel)}</th>
                        <td class="bar-cell">
                          <Bar
                            scale={scale}
                            segments={[
                              { value: s.delivered, tone: "ok" },
                              { value: s.failed, tone: "bad" },
                              { value: s.pending, tone: "wait" },
                            ]}
                          />
                        </td>
                        <td class="num">
                          <Changing value={s.delivered}>{number(s.delivered)}</Changing>
                        </td>
                        <td class={`num ${s.failed > 0 ? "bad-text" : ""}`}>
                          <Changing value={s.failed}>{number(s.failed)}</Changing>
                        </td>
                        <td class="num">
                          <Changing value={s.pending}>{number(s.pending)}</Changing>
                        </td>
                        <td class={`num tone-${shareTone(c.delivery_rate)}`}>
                          <Changing value={c.delivery_rate}>{percent(c.delivery_rate)}</Changing>
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
                <tfoot>
                  <tr>
                    <th scope="row">{t("Semua kanal", "All channels")}</th>
                    <td />
                    <td class="num">{number(total.delivered)}</td>
                    <td class="num">{number(total.failed)}</td>
                    <td class="num">{number(total.pending)}</td>
                    <td class={`num tone-${shareTone(d.today.delivery_rate)}`}>{percent(d.today.delivery_rate)}</td>
                  </tr>
                </tfoot>
              </table>
              {d.today.unaddressed_staff_alerts > 0 && (
                <p class="bad-text" role="status">
                  {t(
                    `${number(d.today.unaddressed_staff_alerts)} peringatan untuk instansi (tenggat terlewati, pengaduan diteruskan) tidak sampai ke siapa pun: instansinya tidak punya admin aktif dengan alamat e-mail.`,
                    `${number(d.today.unaddressed_staff_alerts)} alerts to agencies (missed deadlines, forwarded complaints) reached nobody: their agency has no active administrator with an e-mail address.`,
                  )}
                </p>
              )}
            </>
          );
        }}
      </Part>
    </Panel>
  );
}
