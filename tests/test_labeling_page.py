"""The labeling page as an annotator sees it, in a real headless Chromium (Debian's).

Label Studio accepts configs that render wrongly, so the page itself is checked: log in, open
a seed task, find the sentence, its context, every target's stance question and the span
labels, and save a screenshot (``test-artifacts/labeling-page.png``, or ``$STANCE_ARTIFACTS``).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from annotate import server, studio
from annotate.cli import main
from annotate.scheme import load_scheme

from conftest import unavailable

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SCHEME = load_scheme()


@pytest.fixture
def browser():
    """Headless Chromium through Debian's chromedriver; never a driver downloaded at run time."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not shutil.which(path)]
    if missing:
        unavailable(f"no headless browser: {', '.join(missing)} missing (apt-get install chromium chromium-driver)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        unavailable("selenium is not installed (pip install -e '.[test]')")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="stance-chromium-")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1400,1600", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def pushed_seeds(studio_server, tmp_path: Path, title: str) -> tuple[list[dict], int, dict[str, int]]:
    """The seed tasks pushed to a new project: their data, the project id, the task id of each sentence."""
    tasks = tmp_path / "tasks.json"
    assert main(["tasks", str(REPO / "seeds"), "-o", str(tasks)]) == 0
    conn = studio.Connection(studio_server.url, studio_server.token, local=True)
    project_id = studio.push(tasks, title, SCHEME, conn=conn).project_id
    with studio.api(conn) as rest:
        ids = studio.task_ids(rest, conn, project_id)
    return [task["data"] for task in json.loads(tasks.read_text())], project_id, ids


def artifacts() -> Path:
    folder = Path(os.environ.get("STANCE_ARTIFACTS") or REPO / "test-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.integration
def test_the_labeling_page_shows_sentence_context_questions_and_span_labels(studio_server, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    seeds, project_id, ids = pushed_seeds(studio_server, tmp_path, "labeling page")
    # a sentence with neighbours on both sides, so both context lines must show
    shown = next(data for data in seeds if data["context_before"] and data["context_after"])

    wait = WebDriverWait(browser, 60)
    browser.get(f"{studio_server.url}/user/login/")
    browser.find_element(By.NAME, "email").send_keys(server.ADMIN_EMAIL)
    password = server.read_secret(Path(studio_server.data_dir) / server.PASSWORD_FILE)
    browser.find_element(By.NAME, "password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(lambda driver: "/user/login" not in driver.current_url)
    browser.get(f"{studio_server.url}/projects/{project_id}/data?task={ids[shown['sentence_id']]}")
    wait.until(ready.text_to_be_present_in_element((By.TAG_NAME, "body"), "Stance toward"))
    wait.until(ready.text_to_be_present_in_element((By.TAG_NAME, "body"), shown["text"][:40]))
    page = browser.find_element(By.TAG_NAME, "body").text
    browser.save_screenshot(str(artifacts() / "labeling-page.png"))

    def on_page(text: str) -> bool:
        return " ".join(text.split()) in " ".join(page.split())

    expected = [shown["text"], shown["context_before"], shown["context_after"], shown["title"],
                "Does the sentence make a claim?", "NO_CLAIM", "SOURCE", "FAVOR", "AGAINST"]
    expected += [f"Stance toward: {target.name}" for target in SCHEME.targets]
    assert [text for text in expected if not on_page(text)] == []
    # every choice of every question is a radio button on the page, once per question
    choices = [radio.find_element(By.XPATH, "./ancestor::label[1]").text.split("[")[0].strip()
               for radio in browser.find_elements(By.CSS_SELECTOR, "input[type=radio]")]
    assert sorted(c for c in choices if c) == sorted(
        ["CLAIM", "NO_CLAIM"] + ["FAVOR", "AGAINST", "NONE"] * len(SCHEME.targets)), choices


def log_in(browser, studio_server) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{studio_server.url}/user/login/")
    browser.find_element(By.NAME, "email").send_keys(server.ADMIN_EMAIL)
    password = server.read_secret(Path(studio_server.data_dir) / server.PASSWORD_FILE)
    browser.find_element(By.NAME, "password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, 60).until(lambda driver: "/user/login" not in driver.current_url)


@pytest.mark.integration
def test_mentions_are_highlighted_their_questions_come_first_and_the_instructions_show(studio_server, browser,
                                                                                       tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    seeds, project_id, ids = pushed_seeds(studio_server, tmp_path, "mentions on the page")
    # a sentence naming two of the three targets, but not the first one of the scheme
    shown = next(data for data in seeds if data["targets_mentioned"] == ["gna", "turkey_military"])

    wait = WebDriverWait(browser, 60)
    log_in(browser, studio_server)
    browser.get(f"{studio_server.url}/projects/{project_id}/data?task={ids[shown['sentence_id']]}")
    wait.until(ready.text_to_be_present_in_element((By.TAG_NAME, "body"), "Named in this sentence"))
    wait.until(lambda driver: driver.find_elements(By.CSS_SELECTOR, ".htx-highlight"))
    browser.save_screenshot(str(artifacts() / "labeling-page-mentions.png"))
    # every mention is highlighted in the sentence, each region labelled with its target
    highlighted = browser.execute_script(
        "return Array.from(document.querySelectorAll('.htx-highlight')).map(e => e.textContent)")
    assert sorted(highlighted) == sorted(m["text"] for m in shown["mentions"])
    regions = browser.find_element(By.TAG_NAME, "body").text
    assert all(m["target"] in regions for m in shown["mentions"])
    # the questions of the targets it names come first, in the scheme's order among themselves
    tops = browser.execute_script(
        "return Object.fromEntries(Array.from(document.querySelectorAll('[class*=stance-q-]')).map("
        "e => [e.className.match(/stance-q-(\\w+)/)[1], e.getBoundingClientRect().top]))")
    assert sorted(tops, key=tops.get) == ["gna", "turkey_military", "haftar_lna"]
    page = browser.find_element(By.TAG_NAME, "body").text
    assert "Named in this sentence (its questions come first): gna The UN-backed Government of National Accord" in page

    # the instructions page, generated from the scheme, opens before labeling
    browser.get(f"{studio_server.url}/projects/{project_id}/data?labeling=1")
    wait.until(ready.text_to_be_present_in_element((By.TAG_NAME, "body"), "Labeling Instructions"))
    browser.save_screenshot(str(artifacts() / "labeling-instructions.png"))
    page = " ".join(browser.find_element(By.TAG_NAME, "body").text.split())
    expected = [SCHEME.name, SCHEME.id, *(t.description for t in SCHEME.targets), *(t.name for t in SCHEME.targets),
                *(f"“{a}”" for t in SCHEME.targets for a in t.aliases),
                *(f"{label.value}: {label.definition}" for label in [*SCHEME.stance_labels, *SCHEME.claim_labels])]
    assert [text for text in expected if " ".join(text.split()) not in page] == []


@pytest.mark.integration
def test_the_task_list_shows_the_sentences_and_no_markup(studio_server, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    seeds, project_id, _ = pushed_seeds(studio_server, tmp_path, "task list")
    conn = studio.Connection(studio_server.url, studio_server.token, local=True)
    with studio.api(conn) as rest:
        [view] = rest.views(project_id)  # made with the project: the data manager makes no other on a first visit
    assert view["data"]["hiddenColumns"] == studio.TASK_LIST_VIEW["hiddenColumns"]
    log_in(browser, studio_server)
    browser.get(f"{studio_server.url}/projects/{project_id}/data")
    wait = WebDriverWait(browser, 60)
    wait.until(ready.text_to_be_present_in_element((By.TAG_NAME, "body"), "sentence_id"))
    wait.until(ready.text_to_be_present_in_element((By.TAG_NAME, "body"), seeds[0]["text"][:30]))
    page = browser.find_element(By.TAG_NAME, "body").text
    browser.save_screenshot(str(artifacts() / "task-list.png"))
    columns = page.split()
    assert "text" in columns and "context_before" in columns and "targets_mentioned" in columns
    # where_to_look (HTML for the labeling page) and the mentions (JSON) are not shown as raw text
    assert "where_to_look" not in columns and "mentions" not in columns
    assert "stance-where" not in page and "<div" not in page and "<style>" not in page
    # Label Studio's own hidden columns stay hidden
    assert "Annotation results" not in page and "Prediction results" not in page
    with studio.api(conn) as rest:
        assert len(rest.views(project_id)) == 1
