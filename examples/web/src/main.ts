document.querySelector("#app")!.textContent = "Parley web chat";
