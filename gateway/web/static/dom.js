// Small DOM and formatting helpers shared by the terminal (app.js) and the back office (admin.js).
'use strict';

const $ = (id) => document.getElementById(id);

/** Minor currency units as "1,234.56" ("—" for none). */
const money = (minor) => (minor === null || minor === undefined ? '—' : (minor / 100).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 }));

/** An element with attributes (class, on<event> handlers, others as attributes) and children (nodes or text). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}
