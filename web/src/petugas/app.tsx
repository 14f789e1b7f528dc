// The officer workspace: sign-in, the header with the agency and the officer, and the pages.
import { LocationProvider, Route, Router, useLocation, useRoute } from "preact-iso";
import { useEffect, useState } from "preact/hooks";
import { loc, t, useLang } from "../lib/i18n";
import { LangSwitch, SkipLink, StaffSignIn, useLoad } from "../lib/ui";
import { markNavigated, useTitle } from "./common";
import { ApplicationPage } from "./detail";
import { roleLabel } from "./format";
import { InboxPage } from "./inbox";
import { api, BASE, ok, OFFICER_ROLES, session } from "./session";

function useSignedIn(): boolean {
  const [signedIn, setSignedIn] = useState(session.signedIn);
  useEffect(() => session.onChange(() => setSignedIn(session.signedIn)), []);
  return signedIn;
}

function SignOutButton() {
  return (
    <button type="button" class="signout" onClick={() => void session.signOut()}>
      {t("Keluar", "Sign out")}
    </button>
  );
}

function Header() {
  const me = useLoad(() => ok(api.GET("/api/v1/auth/me")), []);
  const code = me.data?.agency;
  const agency = useLoad(
    () => (code ? ok(api.GET("/api/v1/catalog/agencies/{code}", { params: { path: { code } } })) : Promise.resolve(null)),
    [code],
  );
  const { path } = useLocation();
  return (
    <header class="desk-header">
      <div class="brand">
        <a href={`${BASE}/`} class="brand-name">
          {t("Ruang Kerja Petugas", "Officer workspace")}
        </a>
        <span class="agency" title={agency.data ? loc(agency.data.name) : undefined}>
          {agency.data ? loc(agency.data.name) : code ?? ""}
        </span>
      </div>
      <nav aria-label={t("Menu ruang kerja", "Workspace menu")}>
        <a href={`${BASE}/`} aria-current={path === BASE ? "page" : undefined}>
          {t("Kotak masuk", "Inbox")}
        </a>
      </nav>
      <div class="who">
        {me.data && (
          <span class="officer">
            <strong>{me.data.name}</strong>
            <span>{roleLabel(me.data.role)}</span>
          </span>
        )}
        <LangSwitch />
        <SignOutButton />
      </div>
    </header>
  );
}

function NotForYou({ role }: { role: string }) {
  useTitle(t("Bukan untuk peran ini", "Not for this role"));
  return (
    <main class="signin" id="main">
      <h1>{t("Ruang Kerja Petugas", "Officer workspace")}</h1>
      <div class="notice" role="alert">
        {t(
          "Ruang kerja ini untuk petugas instansi. Akun Anda masuk sebagai ",
          "This workspace is for agency officers. Your account is signed in as ",
        )}
        <strong>{roleLabel(role)}</strong>.
      </div>
      {role === "citizen" && (
        <p>
          <a href="/">{t("Buka aplikasi warga", "Open the citizen app")}</a>
        </p>
      )}
      {(role === "ops_viewer" || role === "mpp_admin") && (
        <p>
          <a href="/ops/">{t("Buka pusat komando", "Open the command center")}</a>
        </p>
      )}
      <p class="row">
        <SignOutButton />
        <LangSwitch />
      </p>
    </main>
  );
}

// Routed pages are not re-rendered by the root; each follows the language switch itself.
function DetailRoute() {
  useLang();
  const { params } = useRoute();
  return <ApplicationPage key={params.id} id={params.id} />;
}

function NotFound() {
  useLang();
  useTitle(t("Halaman tidak ada", "Page not found"));
  return (
    <main id="main" class="desk-main">
      <h1>{t("Halaman tidak ada", "Page not found")}</h1>
      <p>
        <a href={`${BASE}/`}>{t("Kembali ke kotak masuk", "Back to the inbox")}</a>
      </p>
    </main>
  );
}

export function App() {
  useLang();
  const signedIn = useSignedIn();
  const role = session.role;
  if (!signedIn || !role) {
    return (
      <StaffSignIn session={session} title={t("Ruang Kerja Petugas", "Officer workspace")}>
        <p class="muted">{t("Masuk dengan akun petugas instansi Anda.", "Sign in with your agency officer account.")}</p>
      </StaffSignIn>
    );
  }
  if (!OFFICER_ROLES.includes(role)) return <NotForYou role={role} />;
  return (
    <LocationProvider scope={BASE}>
      <SkipLink />
      <Header />
      <Router onRouteChange={markNavigated}>
        <Route path={BASE} component={InboxPage} />
        <Route path={`${BASE}/permohonan/:id`} component={DetailRoute} />
        <Route default component={NotFound} />
      </Router>
    </LocationProvider>
  );
}
