// The command center: the staff sign-in, a refusal for other accounts, then the wall.
import { useEffect, useState } from "preact/hooks";
import { t, useLang } from "../lib/i18n";
import { SkipLink, StaffSignIn } from "../lib/ui";
import { Dashboard } from "./dashboard";
import { title } from "./header";
import { Refused } from "./refused";
import { session, STAFF_ROLES } from "./session";

function useRole(): string | null {
  const [role, setRole] = useState(session.role);
  useEffect(() => session.onChange(() => setRole(session.role)), []);
  return role;
}

export function App() {
  const lang = useLang();
  const role = useRole();
  useEffect(() => {
    document.title = `${title()} — MPP Elektronik`;
  }, [lang]);
  return (
    <>
      <SkipLink />
      {role === null ? (
        <StaffSignIn session={session} title={title()}>
          <p>
            {t(
              "Masuk dengan akun petugas, admin instansi, pengelola MPP, atau pemantau.",
              "Sign in with an officer, agency administrator, mall administrator or monitor account.",
            )}
          </p>
        </StaffSignIn>
      ) : !STAFF_ROLES.includes(role) ? (
        <Refused message={t("Akun ini tidak memiliki akses ke pusat komando.", "This account has no access to the command center.")} />
      ) : (
        <Dashboard />
      )}
    </>
  );
}
