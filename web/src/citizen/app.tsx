// The citizen app: a header, the page, and a bottom bar of the four places people go.
import type { ComponentChildren } from "preact";
import { lazy, LocationProvider, Route, Router, useLocation } from "preact-iso";
import { useEffect, useRef, useState } from "preact/hooks";
import { t, useLang } from "../lib/i18n";
import { LangSwitch, SkipLink } from "../lib/ui";
import { Catalog } from "./pages/catalog";
import { ServicePage } from "./pages/service";
import { SignIn, Register, VerifyPhone } from "./pages/auth";
import { session } from "./session";
import { useOutboxStatus } from "./drafts";

const Apply = lazy(() => import("./pages/apply").then((m) => m.Apply));
const Applications = lazy(() => import("./pages/applications").then((m) => m.Applications));
const ApplicationPage = lazy(() => import("./pages/applications").then((m) => m.ApplicationPage));
const Inbox = lazy(() => import("./pages/inbox").then((m) => m.Inbox));
const Account = lazy(() => import("./pages/account").then((m) => m.Account));
const Survey = lazy(() => import("./pages/survey").then((m) => m.Survey));
const Book = lazy(() => import("./pages/bookings").then((m) => m.Book));
const Bookings = lazy(() => import("./pages/bookings").then((m) => m.Bookings));
const Ticket = lazy(() => import("./pages/bookings").then((m) => m.Ticket));
const Complaints = lazy(() => import("./pages/complaints").then((m) => m.Complaints));
const NewComplaint = lazy(() => import("./pages/complaints").then((m) => m.NewComplaint));
const ComplaintPage = lazy(() => import("./pages/complaints").then((m) => m.ComplaintPage));
const VerifyDocument = lazy(() => import("./pages/verify").then((m) => m.VerifyDocument));
const Track = lazy(() => import("./pages/track").then((m) => m.Track));

export function useSignedIn(): boolean {
  const [signedIn, setSignedIn] = useState(session.signedIn);
  useEffect(() => session.onChange(() => setSignedIn(session.signedIn)), []);
  return signedIn;
}

/** Pages that need an account show the sign-in first, then come back. */
function Private({ children }: { children: ComponentChildren }) {
  const signedIn = useSignedIn();
  const { url } = useLocation();
  return signedIn ? <>{children}</> : <SignIn next={url} />;
}

function guarded<P extends object>(Page: (props: P) => ComponentChildren) {
  return (props: P) => (
    <Private>
      <Page {...props} />
    </Private>
  );
}

function OfflineBanner() {
  const [online, setOnline] = useState(navigator.onLine);
  const queued = useOutboxStatus();
  useEffect(() => {
    const update = () => setOnline(navigator.onLine);
    addEventListener("online", update);
    addEventListener("offline", update);
    return () => {
      removeEventListener("online", update);
      removeEventListener("offline", update);
    };
  }, []);
  if (online && queued === 0) return null;
  return (
    <p class="offline" role="status">
      {!online && t("Anda sedang offline (tanpa internet). Draf tetap tersimpan di ponsel ini.", "You are offline. Drafts stay saved on this phone.")}{" "}
      {queued > 0 &&
        t(`${queued} permohonan menunggu koneksi untuk dikirim.`, `${queued} application(s) waiting for a connection to be sent.`)}
    </p>
  );
}

function NavBar() {
  const { path } = useLocation();
  const items: [string, string, string][] = [
    ["/", t("Layanan", "Services"), "M4 5h16M4 12h16M4 19h10"],
    ["/permohonan", t("Permohonan", "Applications"), "M7 3h8l4 4v14H7zM15 3v4h4M10 12h6M10 16h6"],
    ["/kotak-masuk", t("Pesan", "Inbox"), "M4 6h16v12H4zM4 7l8 6 8-6"],
    ["/akun", t("Akun", "Account"), "M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8zM4 21c1-4 4-6 8-6s7 2 8 6"],
  ];
  const current = (href: string) => (href === "/" ? path === "/" || path.startsWith("/layanan") : path.startsWith(href));
  return (
    <nav class="tabbar" aria-label={t("Menu utama", "Main menu")}>
      {items.map(([href, label, icon]) => (
        <a href={href} aria-current={current(href) ? "page" : undefined} key={href}>
          <svg viewBox="0 0 24 24" aria-hidden="true">
            <path d={icon} />
          </svg>
          {label}
        </a>
      ))}
    </nav>
  );
}

/** After moving to another page, focus its content, so a screen reader reads the new page and
 * the keyboard starts from there (the first page keeps the browser's own start). */
function FocusOnNavigation() {
  const { path } = useLocation();
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    document.getElementById("main")?.focus();
    scrollTo(0, 0);
  }, [path]);
  return null;
}

function NotFound() {
  return (
    <section>
      <h1>{t("Halaman tidak ditemukan", "Page not found")}</h1>
      <a href="/">{t("Ke daftar layanan", "To the services")}</a>
    </section>
  );
}

export function App() {
  const lang = useLang();
  return (
    <LocationProvider>
      <SkipLink />
      <FocusOnNavigation />
      <header class="topbar">
        <a href="/" class="brand">
          <svg viewBox="0 0 64 64" aria-hidden="true">
            <rect width="64" height="64" rx="14" fill="#fff" />
            <path d="M14 46V22l9 12 9-12 9 12 9-12v24" fill="none" stroke="#0b5394" stroke-width="6" stroke-linejoin="round" stroke-linecap="round" />
          </svg>
          <span>
            MPP Sinjai <small>{t("Mal Pelayanan Publik", "Public Service Mall")}</small>
          </span>
        </a>
        <LangSwitch />
      </header>
      <OfflineBanner />
      {/* A new language draws every page again (their texts are picked when drawn). */}
      <main id="main" tabIndex={-1} key={lang}>
        <Router>
          <Route path="/" component={Catalog} />
          <Route path="/layanan/:slug" component={ServicePage} />
          <Route path="/layanan/:slug/ajukan" component={guarded(Apply)} />
          <Route path="/layanan/:slug/antrean" component={guarded(Book)} />
          <Route path="/masuk" component={SignIn} />
          <Route path="/daftar" component={Register} />
          <Route path="/verifikasi-ponsel" component={VerifyPhone} />
          <Route path="/permohonan" component={guarded(Applications)} />
          <Route path="/permohonan/:id" component={guarded(ApplicationPage)} />
          <Route path="/permohonan/:id/survei" component={guarded(Survey)} />
          {/* The survey's short address, for the link in the "completed" SMS. */}
          <Route path="/survei/:id" component={guarded(Survey)} />
          <Route path="/kotak-masuk" component={guarded(Inbox)} />
          <Route path="/antrean" component={guarded(Bookings)} />
          <Route path="/antrean/:id" component={guarded(Ticket)} />
          <Route path="/pengaduan" component={guarded(Complaints)} />
          <Route path="/pengaduan/baru" component={guarded(NewComplaint)} />
          <Route path="/pengaduan/:id" component={guarded(ComplaintPage)} />
          <Route path="/verify/:code" component={VerifyDocument} />
          <Route path="/cek-dokumen" component={VerifyDocument} />
          <Route path="/track/:tracking" component={Track} />
          <Route path="/lacak" component={Track} />
          <Route path="/akun" component={guarded(Account)} />
          <Route default component={NotFound} />
        </Router>
      </main>
      <NavBar />
    </LocationProvider>
  );
}
