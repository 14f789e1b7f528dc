import { render } from "preact";
import "../lib/base.css";
import "./ops.css";
import { App } from "./app";

const root = document.getElementById("app")!;
root.replaceChildren(); // the page's "loading" text
render(<App />, root);
