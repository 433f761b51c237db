"""Pages for checking a paper scan against the approved draft (services/routing/scan_match.py): an official letter
laid out as NĐ 30 Phụ lục I lays it out (the two header columns, number, place and date, the subject, the body, the
recipients and the signature block), printed to PDF with a text layer as a draft version is, and "scanned" as a
scanner gives it back: the page rasterised at 150 dpi, turned a little, speckled, signed by hand and stamped, with
no text layer. Shared by the tests and bench/scan_match.py, which measured the threshold."""

from __future__ import annotations

import io
import random
import textwrap

from PIL import Image, ImageDraw, ImageFilter
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"
HEADER = ("ỦY BAN NHÂN DÂN", "TỈNH TUYÊN QUANG", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")
SIGNATURE = ("TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH", "Nguyễn Văn An")

INVENTORY = (
    "V/v kiểm kê tài sản công năm 2026",
    "Kính gửi: Các sở, ban, ngành; Ủy ban nhân dân các huyện, thành phố.",
    ["Thực hiện Luật Quản lý, sử dụng tài sản công năm 2017 và Nghị định số 151/2017/NĐ-CP của Chính phủ, Ủy ban "
     "nhân dân tỉnh đề nghị các cơ quan, đơn vị tổ chức kiểm kê toàn bộ tài sản công đang quản lý, sử dụng tại "
     "thời điểm ngày 31 tháng 12 năm 2026.",
     "Việc kiểm kê phải đối chiếu giữa sổ kế toán và thực tế, lập biên bản kiểm kê theo mẫu, xác định rõ tài sản "
     "thừa, thiếu, hư hỏng, không còn nhu cầu sử dụng và đề xuất biện pháp xử lý đối với từng loại tài sản.",
     "Báo cáo kết quả kiểm kê gửi Sở Tài chính trước ngày 15 tháng 01 năm 2027 để tổng hợp, trình Ủy ban nhân dân "
     "tỉnh. Quá thời hạn trên, đơn vị nào chưa báo cáo phải giải trình lý do bằng văn bản.",
     "Giao Sở Tài chính hướng dẫn, đôn đốc, kiểm tra việc thực hiện; tổng hợp những khó khăn, vướng mắc phát sinh, "
     "báo cáo Ủy ban nhân dân tỉnh xem xét, giải quyết."],
)
# An earlier version of the same letter: the second paragraph said something else before review.
EARLIER_SECOND = ("Các cơ quan, đơn vị chủ động bố trí kinh phí và nhân lực cho công tác kiểm kê; trường hợp cần "
                  "thiết có thể thuê tổ chức tư vấn độc lập thực hiện việc đánh giá lại giá trị tài sản theo quy "
                  "định hiện hành của pháp luật về giá.")
FLOOD = (
    "V/v chủ động phòng, chống mưa lũ cuối năm 2026",
    "Kính gửi: Ủy ban nhân dân các huyện, thành phố; Ban Chỉ huy Phòng chống thiên tai tỉnh.",
    ["Theo dự báo của Đài Khí tượng thủy văn tỉnh, từ nay đến cuối năm có khả năng xuất hiện hai đến ba đợt mưa "
     "lớn trên diện rộng, nguy cơ cao xảy ra lũ quét, sạt lở đất tại các xã vùng cao.",
     "Ủy ban nhân dân các huyện rà soát các khu dân cư ven sông, suối, chân đồi; chuẩn bị phương án sơ tán người "
     "và tài sản, bố trí lực lượng trực ban nghiêm túc hai mươi bốn giờ trong ngày.",
     "Các hồ chứa thủy lợi, thủy điện vận hành đúng quy trình, tuyệt đối không để xảy ra sự cố đập; thông báo kịp "
     "thời cho nhân dân vùng hạ du trước khi xả lũ.",
     "Ban Chỉ huy Phòng chống thiên tai tỉnh theo dõi sát diễn biến thời tiết, tổng hợp tình hình thiệt hại, báo "
     "cáo Ủy ban nhân dân tỉnh trước 16 giờ hằng ngày trong thời gian có mưa lũ."],
)


# Pages 2 and 3 of a longer letter (the plan the inventory asks for), and page 2 as an earlier version had it.
PLAN = (
    ["Các cơ quan, đơn vị thành lập hội đồng kiểm kê do thủ trưởng đơn vị làm chủ tịch, gồm đại diện bộ phận kế "
     "toán, bộ phận quản lý tài sản và các phòng, ban có tài sản được giao quản lý, sử dụng.",
     "Hội đồng kiểm kê lập kế hoạch chi tiết, phân công thành viên phụ trách từng nhóm tài sản: nhà, đất; xe ô tô; "
     "máy móc, thiết bị có nguyên giá từ mười triệu đồng trở lên và tài sản cố định vô hình.",
     "Đối với tài sản là nhà, đất, hội đồng đối chiếu hồ sơ pháp lý, giấy chứng nhận quyền sử dụng đất với hiện "
     "trạng sử dụng, ghi rõ diện tích cho thuê, cho mượn, bị lấn chiếm hoặc đang tranh chấp.",
     "Đối với xe ô tô, hội đồng kiểm tra số lượng, chủng loại, năm sản xuất, tình trạng kỹ thuật và việc sử dụng "
     "xe theo đúng tiêu chuẩn, định mức do cơ quan có thẩm quyền ban hành."],
    ["Kết quả kiểm kê được tổng hợp theo từng loại tài sản, có chữ ký của các thành viên hội đồng và thủ trưởng "
     "đơn vị; số liệu phải khớp với báo cáo kê khai tài sản công trên cơ sở dữ liệu quốc gia.",
     "Trong quá trình thực hiện, nếu có vướng mắc, các cơ quan, đơn vị phản ánh kịp thời về Sở Tài chính để được "
     "hướng dẫn giải quyết theo thẩm quyền."],
)
EARLIER_PLAN_THIRD = ("Tài sản là nhà, đất được kiểm kê theo biên bản bàn giao gần nhất; trường hợp chưa có biên bản, "
                      "đơn vị tự xác định diện tích theo bản vẽ hiện có và chịu trách nhiệm trước pháp luật về số "
                      "liệu báo cáo của mình.")


def letter(subject: str, to: str, paragraphs: list[str]) -> list[tuple[float, float, str, int]]:
    """(x, y, text, size) in points from the top left of an A4 page."""
    items = [(60, 60, HEADER[0], 11), (60, 75, HEADER[1], 11), (300, 60, HEADER[2], 11), (330, 75, HEADER[3], 11),
             (80, 105, "Số:      /UBND-KT", 11), (330, 105, "Tuyên Quang, ngày      tháng      năm 2026", 11),
             (60, 130, subject, 11), (120, 165, to, 11)]
    y = 200
    for paragraph in paragraphs:
        for line in textwrap.wrap(paragraph, 88):
            items.append((70, y, line, 11))
            y += 17
        y += 6
    items += [(60, y + 20, "Nơi nhận:", 10), (60, y + 34, "- Như trên;", 9), (60, y + 46, "- Lưu: VT.", 9)]
    items += [(350, y + 20 + 15 * n, text, 11) for n, text in enumerate(SIGNATURE[:2])]
    return [*items, (360, y + 110, SIGNATURE[2], 11)]


def text_pdf(subject: str, to: str, paragraphs: list[str], more: list[list[str]] | None = None) -> bytes:
    """The draft version's PDF: text drawn with a Vietnamese font, extractable by pdftotext. `more`: the
    paragraphs of each further page (a page number at its top, like a printed letter's)."""
    if "DejaVuSerif" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("DejaVuSerif", FONT))
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4)
    height = A4[1]
    pages = [letter(subject, to, paragraphs)] + [following(n, body) for n, body in enumerate(more or [], 2)]
    for items in pages:
        for x, y, text, size in items:
            page.setFont("DejaVuSerif", size)
            page.drawString(x, height - y, text)
        page.showPage()
    page.save()
    return out.getvalue()


def following(number: int, paragraphs: list[str]) -> list[tuple[float, float, str, int]]:
    items, y = [(290, 40, str(number), 11)], 80
    for paragraph in paragraphs:
        for line in textwrap.wrap(paragraph, 88):
            items.append((70, y, line, 11))
            y += 17
        y += 6
    return items


def scanned(pdf: bytes, seed: int = 1, dpi: int = 150) -> bytes:
    """The printed pages scanned back: images only (JPEG in a PDF), slightly turned, with specks, the leader's
    signature scrawled over the signature block and the red seal half over it."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf)
    images = [_scanned_page(page.render(scale=dpi / 72).to_pil().convert("RGB"), seed + n)
              for n, page in enumerate(document)]
    document.close()
    out = io.BytesIO()
    images[0].save(out, "PDF", resolution=float(dpi), quality=80, save_all=True, append_images=images[1:])
    return out.getvalue()


def _scanned_page(image: Image.Image, seed: int) -> Image.Image:
    rng = random.Random(seed)
    draw = ImageDraw.Draw(image)
    width, height = image.size
    for _ in range(400):  # dust and toner specks
        x, y = rng.randrange(width), rng.randrange(height)
        draw.point((x, y), fill=(90, 90, 90))
    sign_x, sign_y = int(width * 0.62), int(height * 0.72)
    strokes = [(sign_x + rng.randrange(-40, 160), sign_y + rng.randrange(-10, 50)) for _ in range(9)]
    draw.line(strokes, fill=(20, 30, 120), width=3)
    draw.ellipse((sign_x - 80, sign_y - 60, sign_x + 80, sign_y + 100), outline=(200, 30, 30), width=4)
    image = image.rotate(rng.uniform(-0.8, 0.8), fillcolor="white", resample=Image.Resampling.BICUBIC)
    return image.filter(ImageFilter.GaussianBlur(0.4))


def blank_scan() -> bytes:
    """A scan of nothing readable: a grey page with specks."""
    image = Image.new("L", (1240, 1754), 235)
    draw = ImageDraw.Draw(image)
    rng = random.Random(7)
    for _ in range(300):
        draw.point((rng.randrange(1240), rng.randrange(1754)), fill=120)
    out = io.BytesIO()
    image.save(out, "PDF", resolution=150.0)
    return out.getvalue()


def inventory(paragraphs: list[str] | None = None) -> bytes:
    return text_pdf(INVENTORY[0], INVENTORY[1], paragraphs or INVENTORY[2])


def inventory_earlier() -> bytes:
    return inventory([INVENTORY[2][0], EARLIER_SECOND, *INVENTORY[2][2:]])


def flood() -> bytes:
    return text_pdf(*FLOOD)


def plan(pages: int = 3, earlier: bool = False) -> bytes:
    """The inventory letter over `pages` pages (1 to 3); `earlier`: page 2 as an earlier version had it, its third
    paragraph of four rewritten."""
    second = [*PLAN[0][:2], EARLIER_PLAN_THIRD, PLAN[0][3]] if earlier else PLAN[0]
    return text_pdf(*INVENTORY, more=[second, PLAN[1]][:pages - 1])


def with_blank_backs(pdf: bytes) -> bytes:
    """The same pages scanned in duplex: each followed by the empty back of its sheet."""
    import pikepdf

    with pikepdf.open(io.BytesIO(pdf)) as document:
        for n in range(len(document.pages) - 1, -1, -1):
            document.pages.insert(n + 1, pikepdf.Page(pikepdf.Dictionary(
                Type=pikepdf.Name.Page, MediaBox=document.pages[n].mediabox)))
        out = io.BytesIO()
        document.save(out)
    return out.getvalue()
