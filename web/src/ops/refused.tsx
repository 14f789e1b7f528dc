// What a signed-in account that may not see the command center (a citizen's) is told.
import { t } from "../lib/i18n";
import { LangSwitch } from "../lib/ui";
import { title } from "./header";
import { session } from "./session";

export function Refused({ message }: { message: string }) {
  return (
    <main class="signin" id="main">
      <h1>{title()}</h1>
      <div class="error" role="alert">
        <p>{message}</p>
      </div>
      <p>
        {t(
          "Pusat komando hanya untuk petugas dan pengelola MPP. Warga dapat melacak permohonan di aplikasi MPP Elektronik.",
          "The command center is for the mall's staff only. Citizens can follow their applications in the MPP Elektronik app.",
        )}
      </p>
      <p class="row">
        <button type="button" class="primary" onClick={() => void session.signOut()}>
          {t("Keluar dan masuk dengan akun petugas", "Sign out and use a staff account")}
        </button>
        <a href="/">{t("Ke aplikasi warga", "To the citizen app")}</a>
        <LangSwitch />
      </p>
    </main>
  );
}
