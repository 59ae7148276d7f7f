// Small DOM helpers shared by the jobs page (app.js) and the operations console (console.js).

/** An element with attributes (`class`, `on<event>` handlers, booleans) and children. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

/** Read `text` out through the page's live region (#announcer). */
export function announce(text) {
  const region = document.getElementById("announcer");
  region.textContent = "";
  // A fresh text node in a new task makes screen readers read it even when repeated.
  setTimeout(() => { region.textContent = text; }, 50);
}

/** Show `text` in the page's alert (#alert); empty text hides it. */
export function showAlert(text) {
  const alert = document.getElementById("alert");
  alert.textContent = text;
  alert.hidden = !text;
}
