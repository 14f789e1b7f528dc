import { render } from "preact";
import "../lib/base.css";
import "./petugas.css";
import { App } from "./app";

const root = document.getElementById("app")!;
root.textContent = ""; // the "loading" text of the page
render(<App />, root);
