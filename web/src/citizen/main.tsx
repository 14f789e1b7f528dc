import { render } from "preact";
import "../lib/base.css";
import "./citizen.css";
import { App } from "./app";
import { startOutbox } from "./drafts";

const root = document.getElementById("app")!;
root.textContent = ""; // the "loading" line shown before the script ran
render(<App />, root);
startOutbox();
