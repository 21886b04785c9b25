// Marks the page as scripted and starts GOV.UK Frontend's components (radios, error summary).
import { initAll } from "/frontend/govuk-frontend.min.js";

document.body.classList.add("js-enabled", "govuk-frontend-supported");
initAll();
