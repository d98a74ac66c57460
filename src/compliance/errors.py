"""Errors users read: every one carries where it happened and says it in Vietnamese and English.

A `Problem` is one thing wrong (a field, a line); an exception carries all the problems found
so that a user fixes them in one pass instead of one per run.
"""

from __future__ import annotations

import calendar
import difflib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Lang = Literal["vi", "en"]

# code -> (Vietnamese, English); placeholders are filled from Problem.params.
CATALOG: dict[str, tuple[str, str]] = {
    "unknown_field": (
        "trường không hợp lệ '{field}'{hint}",
        "unknown field '{field}'{hint}",
    ),
    "unknown_observation": (
        "trường không hợp lệ '{field}': không có kiểm tra nào đã cài đặt đọc trường này{hint}",
        "unknown field '{field}': no installed check reads it{hint}",
    ),
    "invisible_character": (
        "mã {found} chứa ký tự điều khiển hoặc ký tự ẩn ({character}, vị trí {position}); hai mã trông giống nhau "
        "sẽ bị coi là hai đối tượng khác nhau",
        "id {found} holds a control or invisible character ({character} at position {position}); two ids that look "
        "the same would count as different subjects",
    ),
    "missing": ("thiếu trường bắt buộc", "required field is missing"),
    "wrong_type": (
        "cần {expected}, nhận được {found}",
        "expected {expected}, found {found}",
    ),
    "invalid_choice": (
        "giá trị {found} không hợp lệ; cần một trong: {expected}{hint}",
        "invalid value {found}; expected one of: {expected}{hint}",
    ),
    "out_of_range": ("giá trị {found} phải {expected}", "value {found} must {expected}"),
    "invalid_value": ("giá trị không hợp lệ: {detail}", "invalid value: {detail}"),
    "pattern_mismatch": (
        "giá trị {found} không đúng dạng quy định (mẫu {pattern})",
        "value {found} does not have the required form (pattern {pattern})",
    ),
    "naive_datetime": (
        "thời điểm phải kèm múi giờ UTC, ví dụ 2018-06-12T07:50:00+07:00",
        "time must carry its UTC offset, e.g. 2018-06-12T07:50:00+07:00",
    ),
    "bad_time": (
        "giờ không hợp lệ {found}; cần dạng HH:MM trong khoảng 00:00-23:59",
        "invalid time {found}; expected HH:MM between 00:00 and 23:59",
    ),
    "inconsistent": ("dữ liệu mâu thuẫn: {detail_vi}", "inconsistent data: {detail_en}"),
    "unknown_holiday_country": (
        "thư viện ngày lễ holidays (phiên bản {version}) không có mã quốc gia {found}{hint}; "
        "hãy dùng mã ISO 3166-1 gồm hai chữ in hoa, ví dụ 'VN' cho Việt Nam",
        "the holidays library (version {version}) knows no country code {found}{hint}; "
        "use the two-capital-letter ISO 3166-1 code, e.g. 'VN' for Vietnam",
    ),
    "duplicate_id": ("mã bị trùng '{found}'", "duplicate id '{found}'"),
    "empty_input": ("dữ liệu đầu vào rỗng, không có lần kiểm tra nào", "empty input: no visit in it"),
    "not_utf8": (
        "dữ liệu đầu vào không phải UTF-8 (byte lỗi tại vị trí {position})",
        "input is not UTF-8 (bad byte at offset {position})",
    ),
    "bad_json": ("JSON không hợp lệ: {detail}", "malformed JSON: {detail}"),
    "bad_yaml": ("YAML không hợp lệ: {detail}", "malformed YAML: {detail}"),
    "yaml_several_documents": (
        "tệp chỉ được chứa một tài liệu YAML nhưng có nhiều: tài liệu thứ hai bắt đầu ở đây (sau dòng '---')",
        "expected one YAML document, found several: a second one starts here (after a '---' line)",
    ),
    "not_a_mapping": (
        "mỗi lần kiểm tra phải là một đối tượng (mapping), nhận được {found}",
        "each visit must be an object (mapping), found {found}",
    ),
    "yaml_duplicate_key": (
        "khóa '{key}' bị lặp (đã có ở dòng {first_line}); mỗi khóa chỉ được xuất hiện một lần",
        "duplicate key '{key}' (first at line {first_line}); only one may stand",
    ),
    "json_duplicate_key": (
        "khóa '{key}' xuất hiện hai lần trong cùng một đối tượng JSON; mỗi khóa chỉ được có một",
        "key '{key}' appears twice in one JSON object; only one may stand",
    ),
    "yaml_tag": (
        "thẻ YAML '{tag}' không được phép; chỉ dùng giá trị thuần",
        "YAML tag '{tag}' is not allowed; only plain values are",
    ),
    "yaml_too_deep": (
        "tài liệu lồng quá sâu (hơn {limit} cấp)",
        "document nested too deeply (more than {limit} levels)",
    ),
    "yaml_too_many_aliases": (
        "quá nhiều tham chiếu (alias) YAML: hơn {limit}",
        "too many YAML aliases: more than {limit}",
    ),
    "yaml_too_large_expanded": (
        "tài liệu quá lớn khi mở rộng tham chiếu (hơn {limit} nút) - có thể là 'bom alias'",
        "document expands to more than {limit} nodes through aliases (an alias bomb?)",
    ),
    "file_too_large": (
        "tệp quá lớn: {size} byte, tối đa {limit}",
        "file too large: {size} bytes, at most {limit}",
    ),
    "record_too_large": (
        "bản ghi quá lớn: {size} byte, tối đa {limit} byte",
        "record too large: {size} bytes, at most {limit}",
    ),
    "too_deep": (
        "dữ liệu lồng quá sâu (hơn {limit} cấp)",
        "data nested too deeply (more than {limit} levels)",
    ),
    "file_missing": ("không tìm thấy tệp hoặc thư mục", "no such file or directory"),
    "file_unreadable": ("không đọc được tệp: {detail}", "cannot read file: {detail}"),
    "output_unwritable": ("không ghi được {target}: {detail}", "cannot write {target}: {detail}"),
    "output_locked": (
        "thư mục kết quả {out} đang được một lần chạy batch khác sử dụng (tiến trình {pid} trên máy {host}, bắt đầu lúc {started}); hãy chờ lần chạy đó kết thúc hoặc chọn --out khác",
        "the output directory {out} is in use by another batch run (pid {pid} on {host}, started {started}); wait for it to finish or choose another --out",
    ),
    "input_is_output": (
        "tệp đầu vào này chính là tệp {name} mà batch ghi vào {out}; hãy chọn --out khác, nếu không đầu vào sẽ bị xóa",
        "this input is the file {name} the batch writes in {out}; choose another --out, or the input would be deleted",
    ),
    "symlink_in_output": (
        "'{name}' trong thư mục kết quả là liên kết tượng trưng (symlink); batch chỉ ghi và xóa tệp, thư mục thật do nó tạo ra: hãy xóa liên kết này",
        "'{name}' in the output directory is a symbolic link; the batch only writes and deletes real files and directories it made: remove the link",
    ),
    "symlink_not_read": (
        "tệp quy tắc là liên kết tượng trưng (symlink) nên không được đọc; hãy đặt chính tệp vào thư mục quy tắc",
        "a rules file that is a symbolic link is not read; put the file itself in the rules directory",
    ),
    "symlink_not_written": (
        "tệp này là liên kết tượng trưng (symlink); không ghi qua liên kết: hãy xóa liên kết rồi chạy lại",
        "this file is a symbolic link, which is not written through: remove the link and run again",
    ),
    "needs_extra": (
        "{feature_vi} cần gói bổ sung: pip install 'compliance[{extra}]' (thiếu {module})",
        "{feature_en} needs the {extra} extra: pip install 'compliance[{extra}]' ({module} is missing)",
    ),
    "report_unwritable": ("không ghi được báo cáo vào tệp này: {detail}", "cannot write the report to this file: {detail}"),
    "scheduler_unreachable": (
        "không kết nối được với bộ lập lịch Dask {scheduler}: {detail_vi}",
        "cannot connect to the Dask scheduler {scheduler}: {detail_en}",
    ),
    "rules_missing_file": (
        "thiếu tệp quy tắc bắt buộc '{name}'",
        "required rules file '{name}' is missing",
    ),
    "rules_unknown_file": (
        "tệp quy tắc cho kiểm tra không được cài đặt '{name}'{hint}",
        "rules file for a check that is not installed: '{name}'{hint}",
    ),
    "rules_check_mismatch": (
        "tệp {file} khai báo check '{found}', cần '{expected}'",
        "file {file} declares check '{found}', expected '{expected}'",
    ),
    "rules_no_rules_for_check": (
        "kiểm tra '{check}' đã cài đặt nhưng không có quy tắc: {looked}",
        "check '{check}' is installed but has no rules: {looked}",
    ),
    "version_gap": (
        "khoảng trống giữa các phiên bản: phiên bản từ {prev_from} hết hiệu lực ngày {prev_to} nhưng phiên bản sau đến "
        "{next_from} mới bắt đầu; hãy sửa effective_to của phiên bản từ {prev_from} thành {day_before}, ngày trước khi "
        "phiên bản sau bắt đầu (hoặc sửa effective_from của phiên bản sau thành {expected})",
        "gap between versions: the version from {prev_from} ends {prev_to} but the next one starts only {next_from}; "
        "set effective_to of the version from {prev_from} to {day_before}, the day before the next version starts "
        "(or the next version's effective_from to {expected})",
    ),
    "version_overlap": (
        "các phiên bản chồng lấn: phiên bản từ {prev_from} hết hiệu lực ngày {prev_to}, khi phiên bản sau đã bắt đầu "
        "từ {next_from}; hãy sửa effective_to của phiên bản từ {prev_from} thành {day_before}, ngày trước khi phiên bản "
        "sau bắt đầu",
        "versions overlap: the version from {prev_from} ends {prev_to}, after the next one has started on {next_from}; "
        "set effective_to of the version from {prev_from} to {day_before}, the day before the next version starts",
    ),
    "version_open_before_next": (
        "phiên bản từ {prev_from} không có effective_to nhưng còn phiên bản sau từ {next_from}; hãy thêm "
        "effective_to: {day_before} vào phiên bản từ {prev_from}, ngày trước khi phiên bản sau bắt đầu",
        "the version from {prev_from} has no effective_to but another starts {next_from}; give the version from "
        "{prev_from} effective_to: {day_before}, the day before the next version starts",
    ),
    "version_same_start": (
        "hai phiên bản cùng bắt đầu từ {next_from}: mỗi phiên bản phải bắt đầu vào ngày sau khi phiên bản trước hết "
        "hiệu lực; hãy sửa effective_from của một trong hai phiên bản",
        "two versions start on {next_from}: each version starts the day after the one before it ends; change the "
        "effective_from of one of them",
    ),
    "version_reversed": (
        "effective_to ({to}) trước effective_from ({from_})",
        "effective_to ({to}) is before effective_from ({from_})",
    ),
    "placeholder_mismatch": (
        "hai bản vi và en dùng các chỗ điền khác nhau: chỉ bản tiếng Việt có {vi_only}, chỉ bản tiếng Anh có {en_only}; hai bản phải dùng cùng các chỗ điền",
        "the vi and en texts use different placeholders: only the Vietnamese has {vi_only}, only the English has {en_only}; both must use the same ones",
    ),
    "placeholder_unknown": (
        "chỗ điền '{{{name}}}' không có trong bằng chứng của quy tắc{hint}; có: {available}",
        "placeholder '{{{name}}}' is not provided by the rule's evidence{hint}; available: {available}",
    ),
    "placeholder_lone_close": (
        "dấu '}}' đứng một mình trong thông điệp: viết '}}}}' nếu muốn in dấu ngoặc",
        "a lone '}}' in the message: write '}}}}' for a literal brace",
    ),
    "placeholder_unclosed": (
        "dấu '{{' không mở một chỗ điền hoàn chỉnh: viết '{{{{' nếu muốn in dấu ngoặc, hoặc đóng chỗ điền, ví dụ {{tên}}",
        "a '{{' that opens no complete placeholder: write '{{{{' for a literal brace, or close the placeholder, e.g. {{name}}",
    ),
    "placeholder_bad": (
        "chỗ điền '{found}' không hợp lệ: chỉ dùng {{tên}}",
        "invalid placeholder '{found}': use plain {{name}}",
    ),
    "unknown_rule_ref": (
        "quy tắc không tồn tại '{found}'{hint}",
        "unknown rule '{found}'{hint}",
    ),
    "grading_no_catch_all": (
        "bậc xếp loại cuối cùng phải áp dụng cho mọi trường hợp (không có max_points/max_severity)",
        "the last grade band must match everything (no max_points or max_severity)",
    ),
    "plugin_load_failed": (
        "không nạp được plugin '{plugin}' ({source}): {detail}",
        "plugin '{plugin}' ({source}) failed to load: {detail}",
    ),
    "plugin_failed": (
        "plugin '{plugin}' (kiểm tra '{check}') gặp lỗi khi đánh giá: {detail}",
        "plugin '{plugin}' (check '{check}') raised during evaluation: {detail}",
    ),
    "plugin_bad_finding": (
        "plugin '{plugin}' (kiểm tra '{check}') trả về kết quả sai: {detail}",
        "plugin '{plugin}' (check '{check}') returned a malformed finding: {detail}",
    ),
    "plugin_bad_check": (
        "plugin '{plugin}' khai báo kiểm tra sai: {detail}",
        "plugin '{plugin}' declares a malformed check: {detail}",
    ),
    "plugin_bad_hook": (
        "compliance_checks của plugin '{plugin}' phải trả về một danh sách kiểm tra, ví dụ [FireSafety()], nhận được {found}",
        "compliance_checks of plugin '{plugin}' must return a list of checks such as [FireSafety()], got {found}",
    ),
    "plugin_name_clash": (
        "hai plugin cùng đăng ký tên '{plugin}' ({first} và {second}); gỡ bỏ hoặc đổi tên một trong hai",
        "two plugins are registered under the name '{plugin}' ({first} and {second}); uninstall or rename one",
    ),
    "observation_conflict": (
        "hai kiểm tra khai báo cùng trường quan sát '{field}' theo hai cách khác nhau: {first} khai báo {first_type}, "
        "{second} khai báo {second_type}; hai kiểm tra chỉ được cùng đọc một trường khi khai báo giống hệt nhau",
        "two checks declare the observation '{field}' differently: {first} as {first_type}, {second} as {second_type}; "
        "checks may share a field only when they declare it identically",
    ),
    "rules_is_catalogue": (
        "đây là một danh mục bộ quy tắc (bộ cơ sở quốc gia và các bộ của tỉnh), không phải một bộ quy tắc: "
        "dùng Engine.load hoặc load_catalogue, hoặc chỉ định thư mục của một tỉnh",
        "this is a catalogue of rulesets (a national base and provinces' overlays), not one ruleset: use "
        "Engine.load or load_catalogue, or name one province's directory",
    ),
    "rules_base_missing": (
        "không tìm thấy bộ quy tắc cơ sở '{found}' mà bộ này kế thừa (đã tìm tại {path})",
        "the base '{found}' this overlay extends is not there (looked at {path})",
    ),
    "rules_base_extends": (
        "bộ quy tắc cơ sở không được kế thừa bộ khác: chỉ bộ quy tắc của tỉnh mới có 'extends'",
        "a national base extends nothing: only a province's overlay has 'extends'",
    ),
    "calendar_no_hours": (
        "không có giờ làm việc (seasons) từ {from} đến {to}: bộ quy tắc của tỉnh phải quy định giờ làm việc cho "
        "những ngày này",
        "no working hours (seasons) from {from} to {to}: the province's overlay must give its hours for these dates",
    ),
    "overlay_rule_in_base": (
        "bộ cơ sở quốc gia đã có các phiên bản của '{rule}': muốn thay thế thì ghi 'replace:' cùng 'reason:' "
        "(lý do tỉnh quy định khác)",
        "the national base has versions of '{rule}': to replace them, write 'replace:' with a 'reason:' (why the "
        "province departs from it)",
    ),
    "overlay_thresholds_of_nothing": (
        "'{rule}' không có phiên bản nào trong bộ cơ sở để đổi ngưỡng: hãy ghi các phiên bản của tỉnh",
        "'{rule}' has no version in the base whose thresholds to change: give the province's own versions",
    ),
    "province_not_covered": (
        "không có bộ quy tắc nào áp dụng cho tỉnh '{province}' vào ngày {date}{known_vi}",
        "no ruleset covers the province '{province}' on {date}{known_en}",
    ),
    "province_missing": (
        "lần kiểm tra không ghi tỉnh (unit.province) và danh mục quy tắc không có tỉnh mặc định cho ngày {date}: "
        "không thể chọn bộ quy tắc{known_vi}",
        "the visit names no province (unit.province) and the catalogue has no home province on {date}: no ruleset "
        "can be chosen{known_en}",
    ),
    "province_merged": (
        "tỉnh {province} không còn tồn tại vào ngày {date}: từ {since} đã hợp nhất vào tỉnh {merged_into} ({basis}). "
        "Ghi unit.province: {merged_into}; nếu hồ sơ vẫn ghi tên cũ, ghi thêm unit.merged_into: {merged_into}",
        "{province} no longer exists on {date}: since {since} it is part of {merged_into} ({basis}). Write "
        "unit.province: {merged_into}; if your records keep the old name, add unit.merged_into: {merged_into}",
    ),
    "merged_into_wrong": (
        "unit.merged_into '{found}' không đúng: tỉnh {province} đã hợp nhất vào tỉnh {merged_into}",
        "unit.merged_into '{found}' is not right: {province} became part of {merged_into}",
    ),
    "level_abolished": (
        "cấp đơn vị '{level}' không còn tồn tại vào ngày {date}: {reform_vi} (hết hiệu lực sau ngày {until}); "
        "lần kiểm tra này mô tả một đơn vị không còn tồn tại",
        "the unit level '{level}' no longer exists on {date}: {reform_en} (it ended on {until}); this visit "
        "describes a unit that no longer exists",
    ),
    "rules_no_overlay": (
        "danh mục quy tắc không có bộ quy tắc nào của tỉnh trong {dir} (mỗi tỉnh một thư mục có ruleset.yaml)",
        "the catalogue has no province's overlay in {dir} (one directory with a ruleset.yaml per province)",
    ),
    "catalogue_offsets": (
        "các bộ quy tắc trong danh mục dùng các múi giờ khác nhau ({found}): múi giờ là quy định quốc gia",
        "the catalogue's rulesets use different UTC offsets ({found}): the offset is national",
    ),
    "covers_overlap": (
        "hai bộ quy tắc cùng áp dụng cho tỉnh '{province}' trong cùng một khoảng thời gian ({first} và {second}): "
        "sửa ngày trong 'covers' của một trong hai",
        "two rulesets cover the province '{province}' on the same days ({first} and {second}): change the dates in "
        "the 'covers' of one of them",
    ),
    "duplicate_check": (
        "kiểm tra '{check}' được khai báo hai lần ({first} và {second})",
        "check '{check}' is declared twice ({first} and {second})",
    ),
    "bad_date": ("ngày không hợp lệ {found}; cần YYYY-MM-DD", "invalid date {found}; expected YYYY-MM-DD"),
    # A `bad_date` whose value is written YYYY-MM-DD (maybe with a time) yet names no day says why.
    "impossible_date": ("ngày không hợp lệ {found}: {reason}", "invalid date {found}: {reason}"),
    "more_problems": (
        "còn {count} lỗi khác không được liệt kê: mỗi tài liệu chỉ báo tối đa {limit} lỗi",
        "{count} more problems not listed: at most {limit} are reported per document",
    ),
    # Rule files, said for the policy staff who write them.
    "unknown_key": (
        "khóa không hợp lệ '{field}'{hint}; các khóa được phép ở đây: {allowed}",
        "unknown key '{field}'{hint}; allowed here: {allowed}",
    ),
    "missing_key": ("thiếu khóa bắt buộc '{field}'", "required key '{field}' is missing"),
    "legal_basis_missing": (
        "phiên bản không có căn cứ pháp lý: legal_basis phải liệt kê ít nhất một văn bản (document)",
        "version without legal basis: legal_basis must list at least one document",
    ),
    "too_few_items": ("cần ít nhất {min} phần tử, nhận được {found}", "expected at least {min} item(s), found {found}"),
    "too_many_items": ("cần nhiều nhất {max} phần tử, nhận được {found}", "expected at most {max} item(s), found {found}"),
    "case_unknown_check": (
        "tệp ví dụ khai báo check '{found}' chưa được cài đặt{hint}; có: {expected}",
        "the case file names check '{found}', which is not installed{hint}; installed: {expected}",
    ),
    "case_unknown_rule": (
        "kiểm tra '{check}' không có quy tắc '{found}'{hint}; có: {expected}",
        "check '{check}' has no rule '{found}'{hint}; it has: {expected}",
    ),
    "case_unknown_version": (
        "quy tắc '{rule}' không có phiên bản nào bắt đầu từ {found}{hint}; các phiên bản bắt đầu từ: {expected}",
        "rule '{rule}' has no version that starts on {found}{hint}; its versions start on: {expected}",
    ),
    "case_unknown_evidence": (
        "quy tắc '{rule}' không ghi bằng chứng '{found}'{hint}; bằng chứng của quy tắc: {expected}",
        "rule '{rule}' records no evidence '{found}'{hint}; it records: {expected}",
    ),
    "case_unknown_sanction": (
        "sanctions.yaml không bao giờ kiến nghị '{found}'{hint}; các kiến nghị có thể có: {expected}",
        "sanctions.yaml never recommends '{found}'{hint}; it can recommend: {expected}",
    ),
    "case_unknown_grade": (
        "grading.yaml không có xếp loại '{found}'{hint}; các xếp loại: {expected}",
        "grading.yaml has no grade '{found}'{hint}; its grades: {expected}",
    ),
}


# What the YAML parser says, said for people: kind -> (Vietnamese, English). A `bad_yaml` problem
# carries one of these as its detail_vi/detail_en and keeps the parser's own words as `detail`.
YAML_SYNTAX: dict[str, tuple[str, str]] = {
    "tab": (
        "không dùng ký tự tab; hãy thụt lề bằng dấu cách",
        "tabs are not allowed; indent with spaces",
    ),
    "indentation": (
        "dòng này không thẳng hàng với các dòng phía trên: các khóa của cùng một mapping, và các mục của cùng một danh sách, phải bắt đầu ở cùng một cột",
        "this line does not line up with the lines above: the keys of one mapping, and the items of one list, must start in the same column",
    ),
    "colon_in_value": (
        "dấu ':' ở chỗ không thể bắt đầu một khóa: đặt văn bản có chứa ': ' trong dấu nháy, hoặc kiểm tra thụt lề của dòng này",
        "a ':' where no key can start: put text that contains ': ' in quotes, or check the indentation of this line",
    ),
    "missing_colon": (
        "thiếu dấu ':' sau khóa này (viết 'khóa: giá trị')",
        "a ':' is missing after this key (write 'key: value')",
    ),
    "unclosed_quote": (
        "dấu nháy mở ở đây không được đóng: hãy kết thúc văn bản bằng cùng loại dấu nháy",
        "the quote opened here is never closed: end the text with the same quote mark",
    ),
    "unclosed_bracket": (
        "dấu '{open}' mở ở dòng {open_line} không được đóng bằng '{close}' (hoặc thiếu dấu ',' giữa các phần tử)",
        "the '{open}' opened at line {open_line} is not closed by '{close}' (or a ',' is missing between its items)",
    ),
    "unknown_alias": (
        "'*{name}' không trỏ tới neo nào: hãy đặt '&{name}' ở phía trên trong tệp",
        "'*{name}' refers to no anchor: put '&{name}' earlier in the file",
    ),
    "control_character": (
        "ký tự điều khiển {char} không được phép trong tệp YAML",
        "the control character {char} is not allowed in a YAML file",
    ),
    "key_not_text": ("khóa phải là văn bản thuần", "a key must be plain text"),
    "bad_merge": ("'<<' phải gộp một mapping", "'<<' must merge a mapping"),
    "recursive_alias": ("tham chiếu (alias) lồng vào chính nó", "an alias that contains itself"),
    "bad_scalar": ("'{value}' không phải là {type} hợp lệ", "'{value}' is not a valid {type}"),
}


# What the JSON parsers (orjson, json, jiter/pydantic) say, in Vietnamese: the first pattern found
# in the parser's message. Their English words are kept as the English detail.
JSON_SYNTAX_VI: tuple[tuple[str, str], ...] = (
    ("zero-length|empty document", "tài liệu rỗng"),
    ("end of data|eof while parsing|unterminated", "dữ liệu kết thúc giữa chừng: còn chuỗi, đối tượng hoặc danh sách chưa được đóng"),
    ("trailing comma", "dấu phẩy thừa trước dấu đóng ngoặc"),
    ("after document|trailing characters|extra data", "còn dữ liệu thừa sau giá trị JSON"),
    ("expected ':'|expected `:`|':' delimiter", "thiếu dấu ':' sau khóa"),
    ("string key|key must be a string|property name", "khóa phải là chuỗi đặt trong dấu nháy kép"),
    ("expected ','|expected `,`|',' delimiter", "thiếu dấu phẩy hoặc dấu đóng ngoặc"),
    ("surrogate|hex escape|uxxxx", "mã thoát \\u không hợp lệ"),
    ("escape", "chuỗi thoát (bắt đầu bằng dấu \\) không hợp lệ"),
    ("control character", "chuỗi chứa ký tự điều khiển chưa được thoát"),
    ("depth|recursion", "dữ liệu lồng nhau quá sâu"),
    ("utf-8|utf8", "dữ liệu không phải UTF-8"),
    ("number|infinity", "số không hợp lệ hoặc vượt quá giới hạn"),
    ("value|unexpected character", "ký tự không hợp lệ ở chỗ cần một giá trị JSON"),
)
_JSON_SYNTAX_VI = tuple((re.compile(pattern, re.IGNORECASE), vi) for pattern, vi in JSON_SYNTAX_VI)
_POSITION = re.compile(r"line (\d+),? column (\d+)", re.IGNORECASE)


def json_syntax_vi(raw: str) -> str:
    """A JSON parser's message said in Vietnamese, with its line and column when it gave them."""
    said = next((vi for pattern, vi in _JSON_SYNTAX_VI if pattern.search(raw)), "cú pháp JSON sai")
    at = _POSITION.search(raw)
    return f"{said} (dòng {at.group(1)}, cột {at.group(2)})" if at else said


# Codes whose Vietnamese detail, when a producer gave only the English one, is derived from it.
_DETAIL_VI: dict[str, Callable[[str], str]] = {"bad_json": json_syntax_vi}

_DATE_FORM = re.compile(
    r"^(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})(?:(?:[Tt]|[ \t]+)(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?"
)
_MONTHS_EN = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)


def impossible_date(found: str) -> dict[str, str] | None:
    """Why a value written YYYY-MM-DD (maybe followed by a time) names no day, in vi and en,
    or None when it is not in that form or is a real day: "February 2027 has 28 days" helps
    the person who typed 2027-02-30, "expected YYYY-MM-DD" only puzzles them."""
    text = found.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1]
    form = _DATE_FORM.match(text)
    if form is None:
        return None
    year, month, day = int(form["y"]), int(form["m"]), int(form["d"])
    if year == 0:
        return {"reason_vi": "không có năm 0000 (năm bắt đầu từ 0001)", "reason_en": "there is no year 0000 (years start at 0001)"}
    if not 1 <= month <= 12:
        return {"reason_vi": f"không có tháng {form['m']} (tháng từ 01 đến 12)", "reason_en": f"there is no month {form['m']} (months run 01-12)"}
    if day == 0:
        return {"reason_vi": "không có ngày 00 (ngày bắt đầu từ 01)", "reason_en": "there is no day 00 (days start at 01)"}
    days = calendar.monthrange(year, month)[1]
    if day > days:
        return {
            "reason_vi": f"tháng {month} năm {form['y']} chỉ có {days} ngày",
            "reason_en": f"{_MONTHS_EN[month - 1]} {form['y']} has {days} days",
        }
    if form["H"] is not None and (int(form["H"]) > 23 or int(form["M"]) > 59 or int(form["S"] or 0) > 59):
        clock = ":".join(part for part in (form["H"], form["M"], form["S"]) if part is not None)
        return {
            "reason_vi": f"không có giờ {clock} (giờ từ 00 đến 23, phút và giây từ 00 đến 59)",
            "reason_en": f"there is no time {clock} (hours run 00-23, minutes and seconds 00-59)",
        }
    return None


def _reworded(code: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The code whose words say `params` best: a date in the right form that names no day is
    said with the reason, whoever reported it (a YAML file, a visit, an --as-of option)."""
    if code == "bad_date" and isinstance(params.get("found"), str) and "reason" not in params:
        reason = impossible_date(params["found"])
        if reason is not None:
            return "impossible_date", {**params, **reason}
    return code, params

ECHO_LIMIT = 80
"""Characters of a user's text (a key, a value) a message quotes."""
PARAM_LIMIT = 500
"""Characters of any text filled into a message."""


def shorten(text: str, limit: int = ECHO_LIMIT) -> str:
    """`text` cut to `limit` characters, the cut marked with '…': a message quotes what the
    user wrote, and a key a megabyte long must not come back five times in an answer."""
    return text if len(text) <= limit else text[: max(1, limit - 1)] + "…"


MAX_PROBLEMS = 100
"""Problems reported for one document; the rest are counted in one `more_problems`."""


def cap_problems(problems: Iterable[Problem], limit: int = MAX_PROBLEMS, *, more: int = 0) -> list[Problem]:
    """The first `limit` problems, then one saying how many more were found (`more` counts
    those a caller did not even build). Applying it twice changes nothing."""
    kept: list[Problem] = []
    for problem in problems:
        if problem.code == "more_problems":
            more += int(problem.params.get("count", 0))
        elif len(kept) < limit:
            kept.append(problem)
        else:
            more += 1
    if more > 0:
        first = kept[0] if kept else Problem("more_problems")
        kept.append(Problem("more_problems", {"count": more, "limit": limit}, file=first.file, record=first.record))
    return kept


def yaml_syntax(kind: str, raw: str, **params: Any) -> dict[str, Any]:
    """Params of a `bad_yaml` problem: the parser's words as `detail`, said for people in vi and en."""
    vi, en = YAML_SYNTAX[kind]
    return {"detail": raw, "detail_vi": vi.format(**params), "detail_en": en.format(**params)}


def visible(text: str) -> str:
    """User text as a message quotes it: what does not print is escaped (`sever\\u200bity`).

    A zero-width space, a no-break space, a BOM or a control character inside a key would
    otherwise make "unknown key 'severity' (did you mean 'severity'?)" out of two different words.
    """
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escape(ch) for ch in text)


def _escape(ch: str) -> str:
    named = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}.get(ch)
    if named:
        return named
    code = ord(ch)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """The nearest valid name to a misspelt one, if any is close enough to suggest."""
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return matches[0] if matches else None


def hint_params(word: str, choices: Iterable[str]) -> dict[str, str]:
    best = did_you_mean(word, choices)
    return {"hint_vi": f" (ý bạn là '{best}'?)", "hint_en": f" (did you mean '{best}'?)"} if best else {}


@dataclass(frozen=True)
class Problem:
    """One thing wrong in one place, renderable in either language."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)
    file: str | None = None
    line: int | None = None
    column: int | None = None
    path: str | None = None
    record: int | None = None
    path_vi: str | None = None
    """The path said in Vietnamese, where it has words (`phiên bản từ 2016-09-05`); else `path`."""

    def message(self, lang: Lang = "en") -> str:
        code, params = _reworded(self.code, self.params)
        vi, en = CATALOG.get(code, ("{detail}", "{detail}"))
        params = {k: visible(shorten(v, PARAM_LIMIT)) if isinstance(v, str) else v for k, v in params.items()}
        derive = _DETAIL_VI.get(self.code)
        if derive is not None and "detail_vi" not in params and isinstance(params.get("detail"), str):
            params["detail_vi"] = derive(params["detail"])
        suffix = f"_{lang}"
        for key, value in list(params.items()):
            if key.endswith(suffix):
                params[key[: -len(suffix)]] = value
        params.setdefault("hint", "")
        params.setdefault("detail_vi", params.get("detail", ""))
        params.setdefault("detail_en", params.get("detail", ""))
        template = vi if lang == "vi" else en
        try:
            return template.format_map(_Defaults(params))
        except (ValueError, IndexError):
            return template

    def where(self, lang: Lang = "en") -> str:
        """`file:line:column` where the file has lines; else `file: record N` (a Parquet row),
        which no one can take for a line; `#N` for the Nth visit of a list given to the API."""
        parts = []
        if self.file:
            parts.append(location(self.file, self.line, self.column, self.record, lang))
        elif self.record is not None:
            parts.append(f"#{self.record}")
        path = self.path_vi if lang == "vi" and self.path_vi is not None else self.path
        if path:
            parts.append(visible(path))
        return ": ".join(parts)

    def render(self, lang: Lang = "en") -> str:
        where = self.where(lang)
        return f"{where}: {self.message(lang)}" if where else self.message(lang)

    def to_dict(self, lang: Lang | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code}
        for key in ("file", "line", "column", "path", "record"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.path_vi is not None and self.path_vi != self.path:
            out["path_vi"] = self.path_vi
        out["message"] = {"vi": self.message("vi"), "en": self.message("en")}
        return out

    def at(self, **where: Any) -> Problem:
        """The same problem placed somewhere more precise (a new `path` without its `path_vi`
        is said alike in both languages)."""
        current = {k: getattr(self, k) for k in ("file", "line", "column", "path", "record", "path_vi")}
        if where.get("path") is not None and "path_vi" not in where:
            current["path_vi"] = None
        current.update({k: v for k, v in where.items() if v is not None})
        return Problem(self.code, self.params, **current)


_RECORD: dict[str, str] = {"vi": "bản ghi", "en": "record"}


def location(file: str, line: int | None, column: int | None, record: int | None, lang: Lang = "en") -> str:
    """`file:line:column`, or `file: record N` for a file without lines (a Parquet row)."""
    if line is not None:
        return f"{file}:{line}:{column}" if column is not None else f"{file}:{line}"
    if record is not None:
        return f"{file}: {_RECORD[lang]} {record}"
    return file


class _Defaults(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


class ComplianceError(Exception):
    """Base of every error the tool reports to a user (exit code 2 on the command line)."""

    kind_vi = "Lỗi"
    kind_en = "Error"

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        super().__init__(self.render("en"))

    def render(self, lang: Lang = "en") -> str:
        return "\n".join(p.render(lang) for p in self.problems)

    def __reduce__(self) -> tuple[type[ComplianceError], tuple[list[Problem]]]:
        # Errors cross process boundaries in parallel batches and must survive pickling.
        return (type(self), (self.problems,))


class InputError(ComplianceError):
    """A visit document cannot be read or is not a valid visit (at most MAX_PROBLEMS problems)."""

    def __init__(self, problems: Sequence[Problem]):
        super().__init__(cap_problems(problems))


class RulesError(ComplianceError):
    """A ruleset is invalid; nothing may be evaluated with it."""


class PluginError(ComplianceError):
    """A check plugin failed to load, failed while evaluating, or returned something malformed."""
