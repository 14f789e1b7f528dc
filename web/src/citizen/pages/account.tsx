// The account: who is signed in, language, which channels may carry messages, sign out.
import { useLocation } from "preact-iso";
import { useEffect, useState } from "preact/hooks";
import { ok } from "../../lib/api";
import { setLang, t, type Lang } from "../../lib/i18n";
import { ErrorBox, Loading, useAction, useLoad } from "../../lib/ui";
import { clearDrafts } from "../drafts";
import { api, session } from "../session";

const CHANNELS: [string, string, string][] = [
  ["sms", "SMS", "SMS"],
  ["whatsapp", "WhatsApp", "WhatsApp"],
  ["email", "E-mail", "E-mail"],
  ["push", "Notifikasi di ponsel", "Phone notifications"],
];

export function Account() {
  const { route } = useLocation();
  const me = useLoad(() => ok(api.GET("/api/v1/auth/me")), []);
  const preferences = useLoad(() => ok(api.GET("/api/v1/notifications/preferences")), []);
  const [channels, setChannels] = useState<Record<string, boolean>>({});
  const [saved, setSaved] = useState(false);
  const { busy, error, run } = useAction();
  useEffect(() => preferences.data && setChannels(preferences.data.channels ?? {}), [preferences.data]);

  const saveChannels = async (next: Record<string, boolean>) => {
    setChannels(next);
    setSaved(false);
    const done = await run(() => ok(api.PUT("/api/v1/notifications/preferences", { body: { channels: next, quiet_hours: preferences.data?.quiet_hours ?? null } })));
    if (done) setSaved(true);
  };
  const chooseLanguage = async (language: Lang) => {
    setLang(language);
    await run(() => ok(api.PATCH("/api/v1/auth/me", { body: { language } })));
  };
  const signOut = async () => {
    await clearDrafts();
    await session.signOut();
    route("/");
  };

  if (me.error) return <ErrorBox error={me.error} />;
  if (!me.data) return <Loading />;
  return (
    <section>
      <h1>{t("Akun", "Account")}</h1>
      <dl class="facts-list card">
        <dt>{t("Nama", "Name")}</dt>
        <dd>{me.data.name}</dd>
        <dt>NIK</dt>
        <dd class="mono">{me.data.nik_masked}</dd>
        <dt>{t("Ponsel", "Mobile")}</dt>
        <dd>{me.data.phone}</dd>
        {me.data.email && (
          <>
            <dt>E-mail</dt>
            <dd>{me.data.email}</dd>
          </>
        )}
      </dl>
      <fieldset class="card">
        <legend>{t("Bahasa", "Language")}</legend>
        <label class="choice">
          <input type="radio" name="language" checked={me.data.language === "id"} onChange={() => void chooseLanguage("id")} /> Bahasa Indonesia
        </label>
        <label class="choice">
          <input type="radio" name="language" checked={me.data.language === "en"} onChange={() => void chooseLanguage("en")} /> English
        </label>
      </fieldset>
      <fieldset class="card" disabled={busy || !preferences.data}>
        <legend>{t("Kirim kabar permohonan lewat", "Send application news by")}</legend>
        {CHANNELS.map(([code, id, en]) => {
          // No address, no e-mail: the box is not ticked whatever the stored preference says.
          const missing = code === "email" && !me.data?.email;
          return (
            <label class="choice" key={code}>
              <input
                type="checkbox"
                checked={!missing && (channels[code] ?? false)}
                disabled={missing}
                onChange={(e) => void saveChannels({ ...channels, [code]: e.currentTarget.checked })}
              />{" "}
              <span>
                {t(id, en)}
                {missing && <span class="small muted"> {t("(belum ada alamat e-mail di akun ini)", "(this account has no e-mail address)")}</span>}
              </span>
            </label>
          );
        })}
        <p class="small muted">{t("Pesan selalu tersimpan juga di menu Pesan.", "Messages are always kept in the Inbox too.")}</p>
        <p class="small" role="status">
          {saved ? t("Tersimpan.", "Saved.") : "\u00a0"}
        </p>
      </fieldset>
      <ErrorBox error={error} />
      <p class="row">
        <a href="/antrean" class="button">
          {t("Antrean saya", "My bookings")}
        </a>
        <a href="/pengaduan" class="button">
          {t("Pengaduan saya", "My complaints")}
        </a>
      </p>
      <button type="button" class="danger wide" onClick={signOut}>
        {t("Keluar", "Sign out")}
      </button>
    </section>
  );
}
