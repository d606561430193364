//! The long explanations of diagnostic codes, shown by `infra explain CODE`.
//!
//! [`EXPLANATIONS`] holds one entry for every code the engine reports, sorted by code. A test
//! reads the engine's sources and fails on a code that has no entry, and on an entry whose
//! code is no longer reported; another loads every example and checks that the wrong one
//! reports its code and the fixed one reports no error.
//!
//! An example is the text of one file, or of several: a line `# infra.toml` or
//! `# stacks/<layer>/<file>.yaml` (any path ending in `.yaml`, `.yml` or `.json`) starts each
//! file of a project. Without such a line the text is one template checked on its own.

use serde_json::json;

/// The explanation of one code.
#[derive(Debug)]
pub struct Explanation {
    /// `E1139`.
    pub code: &'static str,
    /// One line: what the code is about.
    pub title: &'static str,
    /// What triggers it, why it matters, and how to fix it; paragraphs separated by blank
    /// lines.
    pub text: &'static str,
    /// A wrong file and its fixed version, where a file causes the problem.
    pub example: Option<Example>,
}

/// A wrong file (or files) and the fixed version.
#[derive(Debug)]
pub struct Example {
    pub wrong: &'static str,
    pub fixed: &'static str,
}

/// The explanation of `code` (case-insensitive).
pub fn lookup(code: &str) -> Option<&'static Explanation> {
    let code = code.trim();
    EXPLANATIONS.iter().find(|e| e.code.eq_ignore_ascii_case(code))
}

impl Explanation {
    /// Plain text for a terminal: the title, the explanation and the examples.
    pub fn text(&self) -> String {
        let mut out = format!("{}: {}\n\n{}\n", self.code, self.title, self.text.trim_end());
        if let Some(ex) = &self.example {
            out.push_str(&format!("\nWrong:\n\n{}\nFixed:\n\n{}", indent(ex.wrong), indent(ex.fixed)));
        }
        out
    }

    /// The explanation as a JSON object: `code`, `title`, `explanation`, `wrong`, `fixed`.
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "code": self.code,
            "title": self.title,
            "explanation": self.text.trim_end(),
            "wrong": self.example.as_ref().map(|e| e.wrong),
            "fixed": self.example.as_ref().map(|e| e.fixed),
        })
    }
}

/// An example: the wrong text and the fixed one.
const fn ex(wrong: &'static str, fixed: &'static str) -> Option<Example> {
    Some(Example { wrong, fixed })
}

fn indent(text: &str) -> String {
    text.lines().map(|l| if l.is_empty() { "\n".to_string() } else { format!("    {l}\n") }).collect()
}

/// Every code the engine reports, sorted.
pub static EXPLANATIONS: &[Explanation] = &[
    Explanation {
        code: "E0001",
        title: "the template file is empty",
        text: "\
A template file under stacks/ (or given to `infra validate`) holds nothing but whitespace or
comments. Every file of a layer is read as a template, so an empty one is almost always a file
saved before it was written, or one emptied by mistake.

Write the template, or delete the file. A layer with nothing to deploy yet can hold a single
`Infra::Local::Data` resource.",
        example: ex(
            "# the role goes here\n",
            "\
Resources:
  Placeholder:
    Type: Infra::Local::Data
    Properties:
      Input: the role goes here
",
        ),
    },
    Explanation {
        code: "E0002",
        title: "the text is not valid JSON",
        text: "\
A `.json` template does not parse as JSON. infra reads JSON strictly, as CloudFormation does:
no trailing commas, no comments, strings in double quotes, and every key quoted. The diagnostic
points at the first character that cannot be read.

Fix the syntax at the position shown. A stray comma after the last member of an object or a
list is the usual cause.",
        example: ex(
            "{\"Resources\": {\"Data\": {\"Type\": \"Infra::Local::Data\", \"Properties\": {\"Input\": 1},}}}\n",
            "{\"Resources\": {\"Data\": {\"Type\": \"Infra::Local::Data\", \"Properties\": {\"Input\": 1}}}}\n",
        ),
    },
    Explanation {
        code: "E0003",
        title: "the text is not valid YAML",
        text: "\
A `.yaml` or `.yml` template does not parse as YAML: a tab used for indentation, a key indented
differently from its siblings, an unclosed quote or bracket, or a `:` inside a plain scalar.
The diagnostic points at where the parser gave up, which may be just after the real mistake.

Fix the syntax there. Indent with spaces only, and quote values that contain `: ` or start with
a character YAML treats specially (`*`, `&`, `!`, `%`, `@`, a backquote).",
        example: ex(
            "\
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: [unclosed
",
            "\
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: [closed]
",
        ),
    },
    Explanation {
        code: "E0004",
        title: "a mapping has the same key twice",
        text: "\
Two keys of one mapping have the same name. YAML and JSON parsers usually keep the last one
silently, so half of what was written is ignored, and CloudFormation rejects such templates.
infra refuses them and shows both places.

Remove one of the keys, or merge what they hold.",
        example: ex(
            "\
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: first
      Input: second
",
            "\
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: second
",
        ),
    },
    Explanation {
        code: "E0005",
        title: "the template is not a mapping",
        text: "\
The top level of a template must be a mapping of sections (`Resources`, `Parameters`, ...).
This file holds a list or a single value at the top, often because every line was indented as
a list item or the file is some other kind of YAML.

Make the top level a mapping whose keys are template sections.",
        example: ex(
            "\
- Resources:
    Data:
      Type: Infra::Local::Data
",
            "\
Resources:
  Data:
    Type: Infra::Local::Data
",
        ),
    },
    Explanation {
        code: "E0006",
        title: "the template nests too deeply",
        text: "\
Lists and mappings nest deeper than infra accepts (128 levels; the top-level mapping is level
1). No real template comes close; such depth comes from generated files gone wrong or from
input meant to exhaust the parser, which is why the loader stops early instead of recursing.

Flatten the structure. If a generator wrote the file, fix the generator.",
        example: None,
    },
    Explanation {
        code: "E0007",
        title: "the template expands to too many nodes",
        text: "\
The template holds more than a million values once YAML aliases are expanded. A few lines of
anchors and aliases that refer to each other can expand to billions of nodes (the
\"billion laughs\" attack); infra counts as it expands and stops at the limit rather than
running out of memory.

Write the repeated parts out, or use fewer nested aliases. Real templates stay far below the
limit.",
        example: None,
    },
    Explanation {
        code: "E0008",
        title: "the template file is too large",
        text: "\
The file is larger than infra reads (4 MiB). CloudFormation itself accepts at most 1 MB for a
template sent from S3, so a larger file cannot be a working template, and reading it whole
would only cost memory.

Split the layer into several files (they merge into one stack), or move large data (policy
documents, scripts) out of the template.",
        example: None,
    },
    Explanation {
        code: "E0009",
        title: "the template file is not UTF-8",
        text: "\
The file's bytes are not valid UTF-8. CloudFormation templates are UTF-8 text; a file saved in
another encoding (Latin-1, UTF-16 with a byte-order mark) or a binary file placed in a layer
folder cannot be read.

Save the file as UTF-8, or move the binary file out of stacks/.",
        example: None,
    },
    Explanation {
        code: "E0010",
        title: "unknown YAML tag",
        text: "\
A value carries a YAML tag (`!Something`) that is neither a CloudFormation short form (`!Ref`,
`!Sub`, `!GetAtt`, `!If`, ...) nor a core YAML tag (`!!str`, `!!int`, ...). Usually a short form
is misspelt; the help suggests the closest one.

Spell the tag as CloudFormation does, or write the function in its long form
(`Fn::GetAtt: [Resource, Attribute]`).",
        example: ex(
            "\
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Refs AWS::Region
",
            "\
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Ref AWS::Region
",
        ),
    },
    Explanation {
        code: "E0011",
        title: "more than one YAML document in a file",
        text: "\
The file holds several YAML documents separated by `---`. A template is one document; the
documents after the first would otherwise be ignored without a word.

Put each template in a file of its own. Files of one layer merge into one stack anyway.",
        example: ex(
            "\
Resources:
  First:
    Type: Infra::Local::Data
---
Resources:
  Second:
    Type: Infra::Local::Data
",
            "\
Resources:
  First:
    Type: Infra::Local::Data
  Second:
    Type: Infra::Local::Data
",
        ),
    },
    Explanation {
        code: "E0012",
        title: "a mapping key is a list or a mapping",
        text: "\
YAML allows complex keys (`? [a, b]`), but CloudFormation keys are names: section names, logical
IDs, property names. A key that is a list or a mapping is a mistake, often a `?` typed by
accident or a flow collection where a name was meant.

Make the key a plain name.",
        example: ex(
            "\
Resources:
  ? [Data]
  : Type: Infra::Local::Data
",
            "\
Resources:
  Data:
    Type: Infra::Local::Data
",
        ),
    },
    Explanation {
        code: "E0013",
        title: "a file could not be read",
        text: "\
A template file, or a folder holding templates, exists but could not be read: permission
denied, a broken disk, a file removed while infra was reading the project. The note gives the
operating system's error.

Check the path and its permissions (`ls -l`), and that nothing else is rewriting the project
while infra runs.",
        example: None,
    },
    Explanation {
        code: "E0014",
        title: "a YAML alias refers to the node that holds it",
        text: "\
An alias (`*name`) is used inside the very node its anchor (`&name`) marks, so expanding it
would never end. YAML parsers that allow it build a cyclic structure that nothing downstream
can handle.

Refer to an anchor only after the node it marks is complete, or write the value out.",
        example: ex(
            "\
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: &loop
        Inner: *loop
",
            "\
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: &value
        Inner: leaf
  Copy:
    Type: Infra::Local::Data
    Properties:
      Input: *value
",
        ),
    },
    Explanation {
        code: "E0015",
        title: "a core YAML tag does not fit its value",
        text: "\
A value carries a core YAML tag (`!!int`, `!!float`, `!!bool`, `!!null`, ...) that it cannot be:
`!!int ten`, `!!bool maybe`. Tags force a type, so one that does not match is a mistake in the
value or in the tag.

Correct the value, or drop the tag and let CloudFormation convert strings where it does.",
        example: ex(
            "\
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !!int ten
",
            "\
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !!int 10
",
        ),
    },
    Explanation {
        code: "E0016",
        title: "a YAML merge key does not hold mappings",
        text: "\
A merge key (`<<`) copies the entries of a mapping into the one it sits in, so its value must
be a mapping (usually an alias of one) or a list of mappings. A scalar or a list of scalars
cannot be merged.

Point `<<` at a mapping, such as `<<: *defaults` where `&defaults` marks one.",
        example: ex(
            "\
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      <<: not-a-mapping
      Input: x
",
            "\
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      <<: {Input: x}
",
        ),
    },
    Explanation {
        code: "E1001",
        title: "the template is not a mapping of sections",
        text: "\
After loading (and after `AWS::Include` expansion) the template's top level is not a mapping of
sections. This happens when an included file or a generator yields a list or a plain value
where a whole template was expected.

Make the top level a mapping with `Resources` and, as needed, `Parameters`, `Conditions`,
`Mappings`, `Rules` and `Outputs`.",
        example: None,
    },
    Explanation {
        code: "E1002",
        title: "unknown template section",
        text: "\
A top-level key is not one of CloudFormation's sections (`AWSTemplateFormatVersion`,
`Description`, `Metadata`, `Parameters`, `Rules`, `Mappings`, `Conditions`, `Transform`,
`Resources`, `Outputs`). A misspelt section would be ignored by a lenient reader, and
everything in it lost; CloudFormation rejects it.

Fix the spelling (the help names the closest section), or remove the key.",
        example: ex(
            "\
Resource:
  Data:
    Type: Infra::Local::Data
",
            "\
Resources:
  Data:
    Type: Infra::Local::Data
",
        ),
    },
    Explanation {
        code: "E1003",
        title: "unsupported AWSTemplateFormatVersion",
        text: "\
`AWSTemplateFormatVersion` has a value other than \"2010-09-09\", the only version
CloudFormation has ever defined. A date typed from memory, or an unquoted value that YAML read
as a date, is the usual cause.

Write `AWSTemplateFormatVersion: \"2010-09-09\"`, quoted, or leave the key out.",
        example: ex(
            "\
AWSTemplateFormatVersion: \"2010-09-10\"
Resources:
  Data:
    Type: Infra::Local::Data
",
            "\
AWSTemplateFormatVersion: \"2010-09-09\"
Resources:
  Data:
    Type: Infra::Local::Data
",
        ),
    },
    Explanation {
        code: "E1004",
        title: "the template's Description is not a string",
        text: "\
The top-level `Description` must be a string. A mapping or list there is usually a section
indented under `Description` by mistake.

Write the description as one string; use `>-` for a long one.",
        example: ex(
            "\
Description:
  - the data layer
Resources:
  Data:
    Type: Infra::Local::Data
",
            "\
Description: the data layer
Resources:
  Data:
    Type: Infra::Local::Data
",
        ),
    },
    Explanation {
        code: "E1005",
        title: "a template section is not a mapping",
        text: "\
A section that holds named entries (`Parameters`, `Mappings`, `Conditions`, `Resources`,
`Outputs`, `Rules`, `Metadata`) is a list or a plain value. Each entry needs a name (its logical
ID), so these sections are mappings from names to definitions.

Write the section as a mapping: `Name:` followed by the indented definition.",
        example: ex(
            "\
Resources:
  - Type: Infra::Local::Data
",
            "\
Resources:
  Data:
    Type: Infra::Local::Data
",
        ),
    },
    Explanation {
        code: "E1006",
        title: "invalid logical ID",
        text: "\
A logical ID (the name of a parameter, mapping, condition, resource or output) contains
something other than the letters A-Z and a-z and the digits 0-9. CloudFormation allows only
those; dashes and underscores are the usual offenders.

Rename it, for example `model-bucket` to `ModelBucket`, and update every `Ref`, `Fn::GetAtt`
and `DependsOn` that names it.",
        example: ex(
            "\
Resources:
  my-data:
    Type: Infra::Local::Data
",
            "\
Resources:
  MyData:
    Type: Infra::Local::Data
",
        ),
    },
    Explanation {
        code: "E1007",
        title: "the template declares no resources",
        text: "\
CloudFormation requires every template to declare at least one resource. A layer whose files
together declare none cannot become a stack.

Add a resource. A layer that only passes values on can hold an `Infra::Local::Data`, which
makes no AWS call.",
        example: ex(
            "\
Outputs:
  Region:
    Value: !Ref AWS::Region
",
            "\
Resources:
  Settings:
    Type: Infra::Local::Data
    Properties:
      Input: !Ref AWS::Region
Outputs:
  Region:
    Value: !GetAtt Settings.Output
",
        ),
    },
    Explanation {
        code: "E1010",
        title: "a parameter is not a mapping",
        text: "\
An entry of `Parameters` must be a mapping with at least `Type`. A plain value there is usually
an attempt to give the parameter its value in the template.

Declare the parameter with `Type` (and `Default` if it has one), and set per-environment values
in infra.toml under `[environments.<name>.parameters]`.",
        example: ex(
            "\
Parameters:
  InstanceType: ml.t2.medium
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Ref InstanceType
",
            "\
Parameters:
  InstanceType:
    Type: String
    Default: ml.t2.medium
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Ref InstanceType
",
        ),
    },
    Explanation {
        code: "E1011",
        title: "a parameter has no Type",
        text: "\
Every parameter needs a `Type` (`String`, `Number`, `CommaDelimitedList`, `List<Number>`, an
`AWS::...` type or an SSM parameter type). Without one neither CloudFormation nor infra knows
how to read its value.

Add `Type: String` unless the parameter is something more specific.",
        example: ex(
            "\
Parameters:
  Environment:
    Default: dev
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Ref Environment
",
            "\
Parameters:
  Environment:
    Type: String
    Default: dev
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Ref Environment
",
        ),
    },
    Explanation {
        code: "E1012",
        title: "unknown parameter type",
        text: "\
A parameter's `Type` is not one CloudFormation defines. Types are case-sensitive (`String`, not
`string`), and the AWS-specific ones are spelt out in full (`AWS::EC2::VPC::Id`,
`List<AWS::EC2::Subnet::Id>`, `AWS::SSM::Parameter::Value<String>`).

Use one of the documented types; the help suggests the closest.",
        example: ex(
            "\
Parameters:
  Environment:
    Type: string
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Ref Environment
",
            "\
Parameters:
  Environment:
    Type: String
    Default: dev
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Ref Environment
",
        ),
    },
    Explanation {
        code: "E1013",
        title: "unknown parameter attribute",
        text: "\
A key inside a parameter is not one of CloudFormation's parameter attributes (`Type`,
`Default`, `AllowedValues`, `AllowedPattern`, `MinLength`, `MaxLength`, `MinValue`,
`MaxValue`, `Description`, `ConstraintDescription`, `NoEcho`). A misspelt constraint would be
silently ignored, letting bad values through.

Fix the spelling; the help names the closest attribute.",
        example: ex(
            "\
Parameters:
  Environment:
    Type: String
    Defualt: dev
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Ref Environment
",
            "\
Parameters:
  Environment:
    Type: String
    Default: dev
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Ref Environment
",
        ),
    },
    Explanation {
        code: "E1014",
        title: "a parameter attribute has the wrong kind of value or does not apply",
        text: "\
A parameter attribute holds the wrong kind of value (`AllowedValues` that is not a list,
`MinLength` that is not a number, an `AllowedPattern` that is not a valid regular expression),
or does not apply to the parameter's type: `MinValue` and `MaxValue` are for numbers,
`MinLength`, `MaxLength` and `AllowedPattern` for strings.

Give the attribute the kind of value it takes, or use the attribute that fits the type.",
        example: ex(
            "\
Parameters:
  Name:
    Type: String
    Default: model
    MinValue: 3
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Ref Name
",
            "\
Parameters:
  Name:
    Type: String
    Default: model
    MinLength: 3
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Ref Name
",
        ),
    },
    Explanation {
        code: "E1020",
        title: "a mapping in Mappings is malformed",
        text: "\
`Mappings` has exactly two levels of keys: each mapping holds top-level keys, each of which
holds second-level keys with a string, a number or a list of them as value. `Fn::FindInMap`
takes exactly those two keys, so any other shape cannot be looked up.

Reshape the mapping to `MapName: {TopKey: {SecondKey: value}}`.",
        example: ex(
            "\
Mappings:
  Sizes:
    small: ml.t2.medium
Resources:
  Data:
    Type: Infra::Local::Data
",
            "\
Mappings:
  Sizes:
    small:
      InstanceType: ml.t2.medium
Resources:
  Data:
    Type: Infra::Local::Data
",
        ),
    },
    Explanation {
        code: "E1030",
        title: "a resource is not a mapping",
        text: "\
An entry of `Resources` must be a mapping with at least `Type`. A plain value or a list there
usually means the resource's keys lost their indentation.

Indent `Type`, `Properties` and the other attributes under the logical ID.",
        example: ex(
            "\
Resources:
  Data: Infra::Local::Data
",
            "\
Resources:
  Data:
    Type: Infra::Local::Data
",
        ),
    },
    Explanation {
        code: "E1031",
        title: "a resource has no Type",
        text: "\
Every resource needs a `Type` (`AWS::IAM::Role`, `Infra::Local::Data`, ...): it decides which
schema checks the properties and which provider creates the resource.

Add the `Type`. The README's resource types table lists those infra deploys.",
        example: ex(
            "\
Resources:
  Data:
    Properties:
      Input: x
",
            "\
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: x
",
        ),
    },
    Explanation {
        code: "E1032",
        title: "a resource's Type is not a string",
        text: "\
A resource's `Type` is a list, a mapping or an intrinsic function. CloudFormation needs the type
before it evaluates anything, so it must be a literal string.

Write the type name itself.",
        example: ex(
            "\
Resources:
  Data:
    Type: [Infra::Local::Data]
",
            "\
Resources:
  Data:
    Type: Infra::Local::Data
",
        ),
    },
    Explanation {
        code: "E1033",
        title: "unknown resource attribute",
        text: "\
A key next to `Type` is not a resource attribute CloudFormation knows (`Properties`,
`DependsOn`, `Condition`, `DeletionPolicy`, `UpdateReplacePolicy`, `Metadata`,
`CreationPolicy`, `UpdatePolicy`). Most often a property was written at the resource's level
instead of under `Properties`, or an attribute is misspelt.

Move properties under `Properties`, or fix the spelling (the help names the closest).",
        example: ex(
            "\
Resources:
  First:
    Type: Infra::Local::Data
  Second:
    Type: Infra::Local::Data
    DependOn: First
",
            "\
Resources:
  First:
    Type: Infra::Local::Data
  Second:
    Type: Infra::Local::Data
    DependsOn: First
",
        ),
    },
    Explanation {
        code: "E1034",
        title: "DependsOn is not a logical ID or a list of them",
        text: "\
`DependsOn` takes the logical ID of a resource in the same template, or a list of them. A
mapping, a number or an intrinsic function cannot name a resource before evaluation, which is
when the order is decided.

Write the logical IDs as plain strings.",
        example: ex(
            "\
Resources:
  First:
    Type: Infra::Local::Data
  Second:
    Type: Infra::Local::Data
    DependsOn: {Ref: First}
",
            "\
Resources:
  First:
    Type: Infra::Local::Data
  Second:
    Type: Infra::Local::Data
    DependsOn: [First]
",
        ),
    },
    Explanation {
        code: "E1035",
        title: "invalid DeletionPolicy or UpdateReplacePolicy",
        text: "\
`DeletionPolicy` and `UpdateReplacePolicy` take `Delete`, `Retain`, `RetainExceptOnCreate` or
`Snapshot`. Any other value, a misspelling or different case included, would leave it unclear
whether destroying or replacing the resource deletes data.

Use one of the four values.",
        example: ex(
            "\
Resources:
  Data:
    Type: Infra::Local::Data
    DeletionPolicy: Keep
",
            "\
Resources:
  Data:
    Type: Infra::Local::Data
    DeletionPolicy: Retain
",
        ),
    },
    Explanation {
        code: "E1036",
        title: "a resource's Properties is not a mapping",
        text: "\
`Properties` must be a mapping from property names to values. A list or a plain value there
usually comes from a stray `-` or lost indentation.

Write the properties as a mapping under `Properties`.",
        example: ex(
            "\
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      - Input: x
",
            "\
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: x
",
        ),
    },
    Explanation {
        code: "E1037",
        title: "a resource's Condition is not a condition name",
        text: "\
A resource's `Condition` attribute names one entry of `Conditions`; the resource is created
only where that condition is true. It cannot hold an expression itself.

Declare the expression under `Conditions` and put its name here.",
        example: ex(
            "\
Parameters:
  Environment:
    Type: String
    Default: dev
Resources:
  Data:
    Type: Infra::Local::Data
    Condition: {Fn::Equals: [!Ref Environment, prod]}
",
            "\
Parameters:
  Environment:
    Type: String
    Default: dev
Conditions:
  IsProd: !Equals [!Ref Environment, prod]
Resources:
  Data:
    Type: Infra::Local::Data
    Condition: IsProd
",
        ),
    },
    Explanation {
        code: "E1040",
        title: "an output is not a mapping",
        text: "\
An entry of `Outputs` must be a mapping with at least `Value`. A plain value there is an output
written without its `Value:` key.

Put the value under `Value`, and add `Export: {Name: ...}` to share it with higher layers.",
        example: ex(
            "\
Resources:
  Data:
    Type: Infra::Local::Data
Outputs:
  DataId: data
",
            "\
Resources:
  Data:
    Type: Infra::Local::Data
Outputs:
  DataId:
    Value: !Ref Data
",
        ),
    },
    Explanation {
        code: "E1041",
        title: "an output has no Value",
        text: "\
Every output needs a `Value`: it is what `infra output` shows and what an export shares.

Add `Value`, or remove the output.",
        example: ex(
            "\
Resources:
  Data:
    Type: Infra::Local::Data
Outputs:
  DataId:
    Description: the data's ID
",
            "\
Resources:
  Data:
    Type: Infra::Local::Data
Outputs:
  DataId:
    Description: the data's ID
    Value: !Ref Data
",
        ),
    },
    Explanation {
        code: "E1042",
        title: "unknown output attribute",
        text: "\
A key of an output is not one CloudFormation knows (`Value`, `Description`, `Export`,
`Condition`). A misspelt `Export` in particular would leave the value unshared, and every layer
importing it broken.

Fix the spelling; the help names the closest attribute.",
        example: ex(
            "\
Resources:
  Data:
    Type: Infra::Local::Data
Outputs:
  DataId:
    Value: !Ref Data
    Exports:
      Name: data-id
",
            "\
Resources:
  Data:
    Type: Infra::Local::Data
Outputs:
  DataId:
    Value: !Ref Data
    Export:
      Name: data-id
",
        ),
    },
    Explanation {
        code: "E1043",
        title: "an output's Export is malformed",
        text: "\
`Export` must be a mapping holding exactly `Name`, the name higher layers pass to
`Fn::ImportValue`. A plain string, a missing `Name` or another key is refused.

Write `Export: {Name: ...}`; by convention `!Sub \"${AWS::StackName}-OutputName\"`, which is
`{project}-{env}-{layer}-OutputName`.",
        example: ex(
            "\
Resources:
  Data:
    Type: Infra::Local::Data
Outputs:
  DataId:
    Value: !Ref Data
    Export: data-id
",
            "\
Resources:
  Data:
    Type: Infra::Local::Data
Outputs:
  DataId:
    Value: !Ref Data
    Export:
      Name: !Sub \"${AWS::StackName}-DataId\"
",
        ),
    },
    Explanation {
        code: "E1044",
        title: "an output's Description or Condition has the wrong kind of value",
        text: "\
An output's `Description` must be a string, and its `Condition` the name of an entry of
`Conditions` (the output exists only where it is true). Lists, mappings or expressions are
refused.

Write the description as a string; declare the condition under `Conditions` and name it.",
        example: ex(
            "\
Resources:
  Data:
    Type: Infra::Local::Data
Outputs:
  DataId:
    Description: [the data's ID]
    Value: !Ref Data
",
            "\
Resources:
  Data:
    Type: Infra::Local::Data
Outputs:
  DataId:
    Description: the data's ID
    Value: !Ref Data
",
        ),
    },
    Explanation {
        code: "E1050",
        title: "a rule is malformed",
        text: "\
An entry of `Rules` must be a mapping with `Assertions` and, optionally, `RuleCondition`. Any
other shape, or another key, is refused: a rule that is not read would never stop a bad
parameter value.

Write the rule as `RuleCondition` (optional) and `Assertions`.",
        example: ex(
            "\
Parameters:
  Environment:
    Type: String
    Default: dev
Rules:
  KnownEnvironment:
    Assert: !Contains [[dev, prod], !Ref Environment]
Resources:
  Data:
    Type: Infra::Local::Data
",
            "\
Parameters:
  Environment:
    Type: String
    Default: dev
Rules:
  KnownEnvironment:
    Assertions:
      - Assert: !Contains [[dev, prod], !Ref Environment]
Resources:
  Data:
    Type: Infra::Local::Data
",
        ),
    },
    Explanation {
        code: "E1051",
        title: "a rule's Assertions are malformed",
        text: "\
A rule's `Assertions` must be a list of mappings, each with `Assert` (a condition) and
optionally `AssertDescription` (the message shown when it fails). A rule without assertions,
an assertion without `Assert` or with another key is refused.

Give each assertion an `Assert`.",
        example: ex(
            "\
Parameters:
  Environment:
    Type: String
    Default: dev
Rules:
  KnownEnvironment:
    Assertions:
      - AssertDescription: dev or prod
Resources:
  Data:
    Type: Infra::Local::Data
",
            "\
Parameters:
  Environment:
    Type: String
    Default: dev
Rules:
  KnownEnvironment:
    Assertions:
      - Assert: !Contains [[dev, prod], !Ref Environment]
        AssertDescription: dev or prod
Resources:
  Data:
    Type: Infra::Local::Data
",
        ),
    },
    Explanation {
        code: "E1060",
        title: "unsupported transform",
        text: "\
The template names a transform other than `AWS::Include`, such as
`AWS::Serverless-2016-10-31` or a macro. Transforms run inside CloudFormation and rewrite the
template into something else; infra evaluates templates itself, so it cannot know what such a
template would become.

Write the resources the transform would generate, or keep that template in CloudFormation.
`AWS::Include` of files inside the project is supported.",
        example: ex(
            "\
Transform: AWS::Serverless-2016-10-31
Resources:
  Data:
    Type: Infra::Local::Data
",
            "\
Resources:
  Data:
    Type: Infra::Local::Data
",
        ),
    },
    Explanation {
        code: "E1061",
        title: "an include location is refused",
        text: "\
`AWS::Include` reads only files inside the project directory, named by a relative path from the
project root. An S3 URL, an absolute path or a path that leaves the project (`../`) is refused:
a template's meaning must not depend on files outside the repository.

Copy the snippet into the project and include it by its relative path.",
        example: ex(
            "\
# stacks/identity/data.yaml
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input:
        Fn::Transform:
          Name: AWS::Include
          Parameters:
            Location: s3://bucket/snippets/input.yaml
",
            "\
# stacks/identity/data.yaml
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input:
        Fn::Transform:
          Name: AWS::Include
          Parameters:
            Location: snippets/input.yaml
# snippets/input.yaml
Source: a file of the project
",
        ),
    },
    Explanation {
        code: "E1062",
        title: "an included file could not be read",
        text: "\
The file an `AWS::Include` names does not exist in the project, could not be loaded, or
includes itself (directly or through others, or nests includes too deeply).

Check the path, which is relative to the project root (not to the including file), and break
any include cycle.",
        example: ex(
            "\
# stacks/identity/data.yaml
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input:
        Fn::Transform:
          Name: AWS::Include
          Parameters:
            Location: snippets/missing.yaml
",
            "\
# stacks/identity/data.yaml
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input:
        Fn::Transform:
          Name: AWS::Include
          Parameters:
            Location: snippets/input.yaml
# snippets/input.yaml
Source: a file of the project
",
        ),
    },
    Explanation {
        code: "E1063",
        title: "a transform is malformed",
        text: "\
`Fn::Transform` (or `Transform`) must be `{Name: AWS::Include, Parameters: {Location: path}}`
with a literal string as the location: the include is expanded before anything is evaluated,
so the location cannot come from a parameter or a function.

Write the transform in that shape, with the path spelt out.",
        example: ex(
            "\
# stacks/identity/data.yaml
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input:
        Fn::Transform:
          Name: AWS::Include
",
            "\
# stacks/identity/data.yaml
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input:
        Fn::Transform:
          Name: AWS::Include
          Parameters:
            Location: snippets/input.yaml
# snippets/input.yaml
Source: a file of the project
",
        ),
    },
    Explanation {
        code: "E1064",
        title: "an included template clashes with the including one",
        text: "\
A file included at the top level of a template must be a mapping of sections, and may not
declare a section entry (or, for plain sections, a section) that the including template
declares too: which of the two would win is not defined.

Declare each entry in one place only.",
        example: ex(
            "\
# stacks/identity/data.yaml
Transform:
  Name: AWS::Include
  Parameters:
    Location: snippets/common.yaml
Resources:
  Data:
    Type: Infra::Local::Data
# snippets/common.yaml
Resources:
  Data:
    Type: Infra::Local::Data
",
            "\
# stacks/identity/data.yaml
Transform:
  Name: AWS::Include
  Parameters:
    Location: snippets/common.yaml
Resources:
  Data:
    Type: Infra::Local::Data
# snippets/common.yaml
Resources:
  Common:
    Type: Infra::Local::Data
",
        ),
    },
    Explanation {
        code: "E1065",
        title: "a nested stack's template file cannot be used",
        text: "\
An `AWS::CloudFormation::Stack` whose `TemplateURL` is a path (not an https:// or s3:// URL)
names a template file of the project, relative to the layer folder (`stacks/<layer>/`). infra
reads it and deploys its text, so it must exist inside the project (no absolute path, no
`..` or symbolic link leading out), load as a template with Resources, and be at most 51,200
bytes, the most CloudFormation takes as a template body.

Keep child templates in a subfolder of the layer (every template directly in the layer folder
is part of the layer itself), and upload larger ones to S3 and name their URL.",
        example: ex(
            "\
# stacks/identity/main.yaml
Resources:
  Queues:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: nested/missing.yaml
",
            "\
# stacks/identity/main.yaml
Resources:
  Queues:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: nested/queues.yaml
# stacks/identity/nested/queues.yaml
Resources:
  Jobs:
    Type: AWS::SQS::Queue
",
        ),
    },
    Explanation {
        code: "E1100",
        title: "a parameter has no value in an environment",
        text: "\
A parameter has no `Default`, and the environment being checked gives it no value. Every
environment is checked, so a value added for `dev` only still fails for `prod`.

Set the value in infra.toml, for every environment under `[environments.<name>.parameters]`
or for one layer under `[environments.<name>.layers.<layer>.parameters]`, or give the
parameter a `Default`.",
        example: ex(
            "\
# infra.toml
[project]
name = \"demo\"
region = \"us-east-1\"

[environments.dev]
# stacks/identity/data.yaml
Parameters:
  InstanceType:
    Type: String
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Ref InstanceType
",
            "\
# infra.toml
[project]
name = \"demo\"
region = \"us-east-1\"

[environments.dev.parameters]
InstanceType = \"ml.t2.medium\"
# stacks/identity/data.yaml
Parameters:
  InstanceType:
    Type: String
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Ref InstanceType
",
        ),
    },
    Explanation {
        code: "E1101",
        title: "a Number parameter's value is not a number",
        text: "\
A parameter of type `Number` (or an item of a `List<Number>`) has a value or default that does
not read as a number. CloudFormation would refuse the stack when it is created; infra finds it
while validating, for every environment.

Give a number. Values in infra.toml are strings (`InitialInstanceCount = \"2\"`) that must read
as numbers.",
        example: ex(
            "\
Parameters:
  InstanceCount:
    Type: Number
    Default: two
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Ref InstanceCount
",
            "\
Parameters:
  InstanceCount:
    Type: Number
    Default: 2
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Ref InstanceCount
",
        ),
    },
    Explanation {
        code: "E1102",
        title: "a parameter's value is not one of its AllowedValues",
        text: "\
The value (or default) of a parameter is not in its `AllowedValues`. The comparison is exact:
case and surrounding spaces count.

Use one of the allowed values, or add the new value to `AllowedValues` if it is meant to be
allowed.",
        example: ex(
            "\
Parameters:
  Environment:
    Type: String
    AllowedValues: [dev, prod]
    Default: staging
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Ref Environment
",
            "\
Parameters:
  Environment:
    Type: String
    AllowedValues: [dev, staging, prod]
    Default: staging
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Ref Environment
",
        ),
    },
    Explanation {
        code: "E1103",
        title: "a parameter's value does not match its AllowedPattern",
        text: "\
The value (or default) of a parameter does not match its `AllowedPattern`. As in
CloudFormation, the pattern must match the whole value, not just a part of it.

Change the value, or the pattern if the value is right. The parameter's
`ConstraintDescription`, when it has one, says what is expected.",
        example: ex(
            "\
Parameters:
  BucketSuffix:
    Type: String
    AllowedPattern: \"[a-z0-9-]+\"
    Default: Models_2
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Ref BucketSuffix
",
            "\
Parameters:
  BucketSuffix:
    Type: String
    AllowedPattern: \"[a-z0-9-]+\"
    Default: models-2
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Ref BucketSuffix
",
        ),
    },
    Explanation {
        code: "E1104",
        title: "a parameter's value is shorter than MinLength or longer than MaxLength",
        text: "\
The value (or default) of a `String` parameter has fewer characters than its `MinLength` or
more than its `MaxLength`. Such limits usually mirror a service's limit on a name built from
the value.

Change the value, or the limit if it was set too tight.",
        example: ex(
            "\
Parameters:
  Prefix:
    Type: String
    MaxLength: 8
    Default: mlplatform-dev
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Ref Prefix
",
            "\
Parameters:
  Prefix:
    Type: String
    MaxLength: 8
    Default: ml-dev
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Ref Prefix
",
        ),
    },
    Explanation {
        code: "E1105",
        title: "a Number parameter's value is outside MinValue and MaxValue",
        text: "\
The value (or default) of a `Number` parameter is less than its `MinValue` or greater than its
`MaxValue`.

Change the value, or the bound if the value is meant to be allowed.",
        example: ex(
            "\
Parameters:
  MinCapacity:
    Type: Number
    MinValue: 1
    Default: 0
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Ref MinCapacity
",
            "\
Parameters:
  MinCapacity:
    Type: Number
    MinValue: 1
    Default: 1
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Ref MinCapacity
",
        ),
    },
    Explanation {
        code: "E1106",
        title: "a parameter's value cannot be resolved locally",
        text: "\
The parameter's type needs a lookup infra does not make while evaluating templates: an SSM
parameter type (`AWS::SSM::Parameter::Value<String>`, whose default is a Parameter Store path)
or an AWS-specific type (`AWS::EC2::VPC::Id`, ...) without a value. CloudFormation would read
Parameter Store or the account; infra keeps validation and planning free of such lookups.

Give the value itself in infra.toml under `[environments.<name>.parameters]`, or make the
parameter a `String`.",
        example: ex(
            "\
# infra.toml
[project]
name = \"demo\"
region = \"us-east-1\"

[environments.dev]
# stacks/identity/data.yaml
Parameters:
  ImageId:
    Type: AWS::SSM::Parameter::Value<String>
    Default: /demo/image-id
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Ref ImageId
",
            "\
# infra.toml
[project]
name = \"demo\"
region = \"us-east-1\"

[environments.dev.parameters]
ImageId = \"ami-0123456789abcdef0\"
# stacks/identity/data.yaml
Parameters:
  ImageId:
    Type: AWS::SSM::Parameter::Value<String>
    Default: /demo/image-id
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Ref ImageId
",
        ),
    },
    Explanation {
        code: "E1110",
        title: "a rule's assertion failed",
        text: "\
An assertion of a template rule is false for the parameter values of the environment being
checked (its `RuleCondition`, when it has one, being true). Rules are how a template states
what combinations of values it accepts, so nothing is planned while one fails.

Change the parameter values in infra.toml so that the assertion holds; the message quotes the
assertion's `AssertDescription`.",
        example: ex(
            "\
Parameters:
  MinCapacity:
    Type: Number
    Default: 4
  MaxCapacity:
    Type: Number
    Default: 2
Rules:
  CapacityOrder:
    Assertions:
      - Assert: !Contains [[\"1\", \"2\"], !Ref MinCapacity]
        AssertDescription: MinCapacity is 1 or 2
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Ref MaxCapacity
",
            "\
Parameters:
  MinCapacity:
    Type: Number
    Default: 1
  MaxCapacity:
    Type: Number
    Default: 2
Rules:
  CapacityOrder:
    Assertions:
      - Assert: !Contains [[\"1\", \"2\"], !Ref MinCapacity]
        AssertDescription: MinCapacity is 1 or 2
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Ref MaxCapacity
",
        ),
    },
    Explanation {
        code: "E1120",
        title: "conditions form a cycle or nest too deeply",
        text: "\
A condition refers, through `Condition` references, back to itself, so it has no value; or a
chain of conditions referring to each other is deeper than infra follows (a sign of the same
mistake in a generated template). The message shows the path.

Break the cycle: one of the conditions must be written in terms of parameters alone.",
        example: ex(
            "\
Parameters:
  Environment:
    Type: String
    Default: dev
Conditions:
  IsProd: !Not [{Condition: IsDev}]
  IsDev: !Not [{Condition: IsProd}]
Resources:
  Data:
    Type: Infra::Local::Data
    Condition: IsProd
",
            "\
Parameters:
  Environment:
    Type: String
    Default: dev
Conditions:
  IsProd: !Equals [!Ref Environment, prod]
  IsDev: !Not [{Condition: IsProd}]
Resources:
  Data:
    Type: Infra::Local::Data
    Condition: IsProd
",
        ),
    },
    Explanation {
        code: "E1121",
        title: "unknown condition",
        text: "\
A resource's or output's `Condition`, an `Fn::If`, or a `Condition` reference names a condition
that `Conditions` does not declare. Conditions belong to one template's layer; other layers'
conditions are not visible.

Declare the condition, or fix the name (the help suggests the closest).",
        example: ex(
            "\
Parameters:
  Environment:
    Type: String
    Default: dev
Conditions:
  IsProd: !Equals [!Ref Environment, prod]
Resources:
  Data:
    Type: Infra::Local::Data
    Condition: IsProduction
",
            "\
Parameters:
  Environment:
    Type: String
    Default: dev
Conditions:
  IsProd: !Equals [!Ref Environment, prod]
Resources:
  Data:
    Type: Infra::Local::Data
    Condition: IsProd
",
        ),
    },
    Explanation {
        code: "E1122",
        title: "a condition is not true or false",
        text: "\
Where a condition is expected (an entry of `Conditions`, an argument of `Fn::And`, `Fn::Or`,
`Fn::Not`, or a rule's assertion), the value is not a boolean: a plain string, a `Ref` to a
string parameter, a list.

Build the condition from `Fn::Equals`, `Fn::And`, `Fn::Or`, `Fn::Not` and `{Condition: Name}`,
for example `!Equals [!Ref Environment, prod]`.",
        example: ex(
            "\
Parameters:
  Environment:
    Type: String
    Default: dev
Conditions:
  IsProd: !Ref Environment
Resources:
  Data:
    Type: Infra::Local::Data
    Condition: IsProd
",
            "\
Parameters:
  Environment:
    Type: String
    Default: dev
Conditions:
  IsProd: !Equals [!Ref Environment, prod]
Resources:
  Data:
    Type: Infra::Local::Data
    Condition: IsProd
",
        ),
    },
    Explanation {
        code: "E1130",
        title: "Ref names nothing declared",
        text: "\
`Ref` (or `!Ref`) names something that is neither a parameter nor a resource of this layer nor
a pseudo parameter (`AWS::Region`, `AWS::AccountId`, `AWS::StackName`, `AWS::Partition`,
`AWS::URLSuffix`, `AWS::NoValue`, ...). Resources of other layers are not visible by name: a
layer reaches them through an export and `Fn::ImportValue`.

Fix the name (the help suggests the closest), declare the parameter, or import the value from
the lower layer that exports it.",
        example: ex(
            "\
Resources:
  Role:
    Type: Infra::Local::Data
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Ref Rol
",
            "\
Resources:
  Role:
    Type: Infra::Local::Data
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Ref Role
",
        ),
    },
    Explanation {
        code: "E1131",
        title: "Ref is malformed",
        text: "\
`Ref` takes one name as a literal string: a parameter, a resource or a pseudo parameter. A list,
a mapping or another function in its place cannot be resolved.

Write `!Ref Name`. To pick a name at evaluation time, use `Fn::If` around two `Ref`s.",
        example: ex(
            "\
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Ref [AWS::Region]
",
            "\
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Ref AWS::Region
",
        ),
    },
    Explanation {
        code: "E1132",
        title: "Fn::GetAtt is malformed",
        text: "\
`Fn::GetAtt` takes `[LogicalId, Attribute]`, or in short form `!GetAtt LogicalId.Attribute`.
Missing parts, extra parts, or a value that is neither form are refused.

Write `!GetAtt Resource.Attribute` or `Fn::GetAtt: [Resource, Attribute]`.",
        example: ex(
            "\
Resources:
  First:
    Type: Infra::Local::Data
    Properties:
      Input: x
  Second:
    Type: Infra::Local::Data
    Properties:
      Input:
        Fn::GetAtt: [First]
",
            "\
Resources:
  First:
    Type: Infra::Local::Data
    Properties:
      Input: x
  Second:
    Type: Infra::Local::Data
    Properties:
      Input:
        Fn::GetAtt: [First, Output]
",
        ),
    },
    Explanation {
        code: "E1133",
        title: "Fn::GetAtt names no resource of this layer",
        text: "\
`Fn::GetAtt` names a logical ID that no resource of this layer declares, or names a parameter
(parameters have no attributes; use `Ref`). Resources of other layers are reached through
their exports and `Fn::ImportValue`.

Fix the logical ID (the help suggests the closest), or import the value.",
        example: ex(
            "\
Resources:
  First:
    Type: Infra::Local::Data
    Properties:
      Input: x
  Second:
    Type: Infra::Local::Data
    Properties:
      Input: !GetAtt Frist.Output
",
            "\
Resources:
  First:
    Type: Infra::Local::Data
    Properties:
      Input: x
  Second:
    Type: Infra::Local::Data
    Properties:
      Input: !GetAtt First.Output
",
        ),
    },
    Explanation {
        code: "E1134",
        title: "Fn::Sub is malformed",
        text: "\
`Fn::Sub` takes a string, or `[string, {Variable: value, ...}]`. Another shape (a list of one
item, a variables argument that is not a mapping, an unclosed `${`) is refused.

Write `!Sub \"text ${Name}\"`, or `!Sub [\"text ${Var}\", {Var: value}]`.",
        example: ex(
            "\
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Sub [\"${Prefix}-data\", [demo]]
",
            "\
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Sub [\"${Prefix}-data\", {Prefix: demo}]
",
        ),
    },
    Explanation {
        code: "E1135",
        title: "Fn::Sub uses an unknown variable",
        text: "\
A `${Name}` in an `Fn::Sub` string is not a parameter, a resource (or `Resource.Attribute`), a
pseudo parameter, or a variable of the `Fn::Sub` itself. CloudFormation would refuse the
template. A literal `${` is written `${!`.

Fix the name (the help suggests the closest), declare it, or pass it as a variable.",
        example: ex(
            "\
Parameters:
  Environment:
    Type: String
    Default: dev
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Sub \"demo-${Enviroment}\"
",
            "\
Parameters:
  Environment:
    Type: String
    Default: dev
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Sub \"demo-${Environment}\"
",
        ),
    },
    Explanation {
        code: "E1136",
        title: "Fn::Join is malformed",
        text: "\
`Fn::Join` takes `[delimiter, [value, ...]]`: a string and a list (or a function that yields a
list). Values that are not strings (a mapping, a nested list) cannot be joined.

Write `!Join [\",\", [a, b]]`.",
        example: ex(
            "\
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Join [\",\", a, b]
",
            "\
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Join [\",\", [a, b]]
",
        ),
    },
    Explanation {
        code: "E1137",
        title: "Fn::Select is malformed or its index is out of range",
        text: "\
`Fn::Select` takes `[index, [value, ...]]`; the index is a number from 0 and must be less than
the list's length. CloudFormation fails such a stack while creating it; infra finds it for
every environment before anything is planned.

Fix the index or the list.",
        example: ex(
            "\
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Select [2, [a, b]]
",
            "\
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Select [1, [a, b]]
",
        ),
    },
    Explanation {
        code: "E1138",
        title: "Fn::Split is malformed",
        text: "\
`Fn::Split` takes `[delimiter, string]`: a non-empty delimiter and the string (or a function
yielding one) to split.

Write `!Split [\",\", \"a,b\"]`.",
        example: ex(
            "\
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Split [\",\"]
",
            "\
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Split [\",\", \"a,b\"]
",
        ),
    },
    Explanation {
        code: "E1139",
        title: "Fn::FindInMap takes three arguments",
        text: "\
`Fn::FindInMap` takes exactly `[MapName, TopLevelKey, SecondLevelKey]`. Mappings always have
two levels of keys, so a lookup with one key (or with four) is a mistake: often the mapping
was written with one level, or the second key was forgotten.

Give both keys. If the mapping has only one level, add the second one: `Sizes: {small:
{InstanceType: ml.t2.medium}}`, looked up as `!FindInMap [Sizes, small, InstanceType]`.",
        example: ex(
            "\
Mappings:
  Sizes:
    small:
      InstanceType: ml.t2.medium
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !FindInMap [Sizes, small]
",
            "\
Mappings:
  Sizes:
    small:
      InstanceType: ml.t2.medium
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !FindInMap [Sizes, small, InstanceType]
",
        ),
    },
    Explanation {
        code: "E1140",
        title: "Fn::FindInMap finds no such mapping or key",
        text: "\
The mapping `Fn::FindInMap` names is not declared in `Mappings`, or it has no such top-level
key, or no such second-level key under it. When the key comes from a parameter or
`AWS::Region`, the error appears only for the environments (or regions) whose value is
missing from the mapping.

Add the missing key to the mapping, or fix the name (the help suggests the closest).",
        example: ex(
            "\
Mappings:
  Sizes:
    small:
      InstanceType: ml.t2.medium
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !FindInMap [Sizes, large, InstanceType]
",
            "\
Mappings:
  Sizes:
    small:
      InstanceType: ml.t2.medium
    large:
      InstanceType: ml.m5.xlarge
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !FindInMap [Sizes, large, InstanceType]
",
        ),
    },
    Explanation {
        code: "E1141",
        title: "Fn::If is malformed",
        text: "\
`Fn::If` takes `[ConditionName, value_if_true, value_if_false]`: the name of a condition
declared in `Conditions` (not an expression) and the two values. `!Ref AWS::NoValue` as either
value removes the property altogether.

Declare the condition under `Conditions` and name it as the first argument.",
        example: ex(
            "\
Parameters:
  Environment:
    Type: String
    Default: dev
Conditions:
  IsProd: !Equals [!Ref Environment, prod]
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !If [IsProd, ml.m5.xlarge]
",
            "\
Parameters:
  Environment:
    Type: String
    Default: dev
Conditions:
  IsProd: !Equals [!Ref Environment, prod]
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !If [IsProd, ml.m5.xlarge, ml.t2.medium]
",
        ),
    },
    Explanation {
        code: "E1142",
        title: "Fn::Equals is malformed",
        text: "\
`Fn::Equals` takes exactly two values, `[value, value]`, and is true when they are equal as
strings (`\"1\"` equals `1`).

Compare exactly two values; combine several comparisons with `Fn::And` or `Fn::Or`.",
        example: ex(
            "\
Parameters:
  Environment:
    Type: String
    Default: dev
Conditions:
  IsProd: !Equals [!Ref Environment]
Resources:
  Data:
    Type: Infra::Local::Data
    Condition: IsProd
",
            "\
Parameters:
  Environment:
    Type: String
    Default: dev
Conditions:
  IsProd: !Equals [!Ref Environment, prod]
Resources:
  Data:
    Type: Infra::Local::Data
    Condition: IsProd
",
        ),
    },
    Explanation {
        code: "E1143",
        title: "Fn::And is malformed",
        text: "\
`Fn::And` takes a list of 2 to 10 conditions and is true when all of them are. A single
condition, more than ten, or a value that is not a list is refused.

List the conditions; for one condition, use it directly.",
        example: ex(
            "\
Parameters:
  Environment:
    Type: String
    Default: dev
Conditions:
  IsProd: !Equals [!Ref Environment, prod]
  IsLive: !And [{Condition: IsProd}]
Resources:
  Data:
    Type: Infra::Local::Data
    Condition: IsLive
",
            "\
Parameters:
  Environment:
    Type: String
    Default: dev
  Region:
    Type: String
    Default: us-east-1
Conditions:
  IsProd: !Equals [!Ref Environment, prod]
  IsLive: !And [{Condition: IsProd}, !Equals [!Ref Region, us-east-1]]
Resources:
  Data:
    Type: Infra::Local::Data
    Condition: IsLive
",
        ),
    },
    Explanation {
        code: "E1144",
        title: "Fn::Not is malformed",
        text: "\
`Fn::Not` takes a list holding exactly one condition: `[condition]`. A bare condition without
the list, or a list of two, is refused.

Write `!Not [!Equals [a, b]]` or `!Not [{Condition: Name}]`.",
        example: ex(
            "\
Parameters:
  Environment:
    Type: String
    Default: dev
Conditions:
  IsProd: !Equals [!Ref Environment, prod]
  IsNotProd: !Not {Condition: IsProd}
Resources:
  Data:
    Type: Infra::Local::Data
    Condition: IsNotProd
",
            "\
Parameters:
  Environment:
    Type: String
    Default: dev
Conditions:
  IsProd: !Equals [!Ref Environment, prod]
  IsNotProd: !Not [{Condition: IsProd}]
Resources:
  Data:
    Type: Infra::Local::Data
    Condition: IsNotProd
",
        ),
    },
    Explanation {
        code: "E1145",
        title: "a Condition reference is malformed",
        text: "\
Inside a condition, `{Condition: Name}` (or `Fn::Condition`) refers to another condition by
name; it takes that name as a plain string.

Write `{Condition: Name}` with the name of an entry of `Conditions`.",
        example: ex(
            "\
Parameters:
  Environment:
    Type: String
    Default: dev
Conditions:
  IsProd: !Equals [!Ref Environment, prod]
  IsNotProd: !Not [{Condition: [IsProd]}]
Resources:
  Data:
    Type: Infra::Local::Data
    Condition: IsNotProd
",
            "\
Parameters:
  Environment:
    Type: String
    Default: dev
Conditions:
  IsProd: !Equals [!Ref Environment, prod]
  IsNotProd: !Not [{Condition: IsProd}]
Resources:
  Data:
    Type: Infra::Local::Data
    Condition: IsNotProd
",
        ),
    },
    Explanation {
        code: "E1146",
        title: "Fn::ImportValue is malformed",
        text: "\
`Fn::ImportValue` takes the name of an export of a lower layer: a string, or an `Fn::Sub` or
`Fn::Join` built from parameters and pseudo parameters. It cannot depend on a resource of its
own layer, since imports are resolved before anything of the layer exists.

Write `Fn::ImportValue: !Sub \"{project}-${Environment}-{layer}-OutputName\"`.",
        example: ex(
            "\
# stacks/identity/data.yaml
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input:
        Fn::ImportValue: [demo-dev-network-VpcId]
",
            "\
# stacks/identity/data.yaml
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: x
Outputs:
  DataOutput:
    Value: !GetAtt Data.Output
    Export:
      Name: !Sub \"${AWS::StackName}-DataOutput\"
# stacks/backend/data.yaml
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input:
        Fn::ImportValue: demo-dev-identity-DataOutput
",
        ),
    },
    Explanation {
        code: "E1147",
        title: "Fn::Base64 is malformed",
        text: "\
`Fn::Base64` takes one string (or a function yielding one) and encodes it. A list or a mapping
cannot be encoded.

Pass a string; join several with `Fn::Join` or `Fn::Sub` first.",
        example: ex(
            "\
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Base64 [a, b]
",
            "\
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Base64 \"a b\"
",
        ),
    },
    Explanation {
        code: "E1148",
        title: "Fn::Cidr is malformed",
        text: "\
`Fn::Cidr` takes `[ipBlock, count, cidrBits]`: the address block to divide, how many blocks to
return, and the host bits of each (8 for a /24 in IPv4). A missing argument, a block that is
not a CIDR, or more blocks than fit is refused.

Write for example `!Cidr [10.0.0.0/16, 4, 8]`.",
        example: ex(
            "\
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Cidr [10.0.0.0/16, 4]
",
            "\
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Cidr [10.0.0.0/16, 4, 8]
",
        ),
    },
    Explanation {
        code: "E1149",
        title: "Fn::GetAZs is malformed",
        text: "\
`Fn::GetAZs` takes a region name, or `\"\"` (or `!Ref AWS::Region`) for the stack's region, and
yields the region's availability zones. A list or mapping in its place is refused.

Write `!GetAZs \"\"`.",
        example: ex(
            "\
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !GetAZs [us-east-1]
",
            "\
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !GetAZs \"\"
",
        ),
    },
    Explanation {
        code: "E1150",
        title: "unknown intrinsic function",
        text: "\
A key starting with `Fn::` is not an intrinsic function CloudFormation defines. A misspelt
function would otherwise be sent to AWS as a literal property named `Fn::...`.

Fix the name; the help suggests the closest function.",
        example: ex(
            "\
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input:
        Fn::Joins: [\",\", [a, b]]
",
            "\
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input:
        Fn::Join: [\",\", [a, b]]
",
        ),
    },
    Explanation {
        code: "E1151",
        title: "Fn::Length is malformed",
        text: "\
`Fn::Length` (from the `AWS::LanguageExtensions` transform) takes a list, or a function
yielding one, and gives its number of items. A string or a mapping has no length here.

Pass a list.",
        example: ex(
            "\
Transform: AWS::LanguageExtensions
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input:
        Fn::Length: abc
",
            "\
Transform: AWS::LanguageExtensions
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input:
        Fn::Length: [a, b, c]
",
        ),
    },
    Explanation {
        code: "E1152",
        title: "Fn::ToJsonString is malformed",
        text: "\
`Fn::ToJsonString` (from the `AWS::LanguageExtensions` transform) takes a mapping or a list and
gives it as a JSON string. A plain string is already a string.

Pass a mapping or a list, or drop the function.",
        example: ex(
            "\
Transform: AWS::LanguageExtensions
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input:
        Fn::ToJsonString: text
",
            "\
Transform: AWS::LanguageExtensions
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input:
        Fn::ToJsonString: {Key: text}
",
        ),
    },
    Explanation {
        code: "E1153",
        title: "a function or reference is not allowed here",
        text: "\
A function is used where CloudFormation does not allow it, or next to other keys of its
mapping. Conditions are evaluated before any resource exists, so they may use parameters,
pseudo parameters and mappings, but not `Ref` to a resource or `Fn::GetAtt`; rules may use
parameters only; export names and `Fn::ImportValue` arguments cannot depend on resources; and
an intrinsic function must be the only key of its mapping.

Move the resource reference into a resource property or an output value, or compute the
condition from parameters.",
        example: ex(
            "\
Resources:
  First:
    Type: Infra::Local::Data
    Properties:
      Input: x
Conditions:
  HasFirst: !Equals [!Ref First, \"\"]
",
            "\
Parameters:
  Environment:
    Type: String
    Default: dev
Resources:
  First:
    Type: Infra::Local::Data
    Properties:
      Input: x
Conditions:
  IsProd: !Equals [!Ref Environment, prod]
",
        ),
    },
    Explanation {
        code: "E1155",
        title: "DependsOn names no resource of this layer",
        text: "\
`DependsOn` names a logical ID that no resource of this layer declares. Resources of lower
layers need no `DependsOn`: a lower layer is always applied first.

Fix the logical ID (the help suggests the closest), or remove the entry.",
        example: ex(
            "\
Resources:
  First:
    Type: Infra::Local::Data
  Second:
    Type: Infra::Local::Data
    DependsOn: Frist
",
            "\
Resources:
  First:
    Type: Infra::Local::Data
  Second:
    Type: Infra::Local::Data
    DependsOn: First
",
        ),
    },
    Explanation {
        code: "E1156",
        title: "a resource's Properties do not evaluate to a mapping",
        text: "\
`Properties` is written as a function (typically `Fn::If` choosing between two property sets)
and in the environment being checked it yields something other than a mapping: a string, a
list, a number.

Make every branch yield a mapping of properties, or `!Ref AWS::NoValue` for none.",
        example: ex(
            "\
Parameters:
  Environment:
    Type: String
    Default: dev
Conditions:
  IsProd: !Equals [!Ref Environment, prod]
Resources:
  Data:
    Type: Infra::Local::Data
    Properties: !If [IsProd, {Input: big}, small]
",
            "\
Parameters:
  Environment:
    Type: String
    Default: dev
Conditions:
  IsProd: !Equals [!Ref Environment, prod]
Resources:
  Data:
    Type: Infra::Local::Data
    Properties: !If [IsProd, {Input: big}, {Input: small}]
",
        ),
    },
    Explanation {
        code: "E1157",
        title: "invalid export name",
        text: "\
An output's `Export.Name` evaluates to something that cannot be an export name: not a string,
empty, longer than 255 characters, or holding characters other than letters, digits, `-` and
`:`. Export names are global in an account and region, which is why infra names them
`{project}-{env}-{layer}-OutputName` by convention (`!Sub \"${AWS::StackName}-OutputName\"`).

Use letters, digits and dashes.",
        example: ex(
            "\
Resources:
  Data:
    Type: Infra::Local::Data
Outputs:
  DataId:
    Value: !Ref Data
    Export:
      Name: data_id
",
            "\
Resources:
  Data:
    Type: Infra::Local::Data
Outputs:
  DataId:
    Value: !Ref Data
    Export:
      Name: !Sub \"${AWS::StackName}-DataId\"
",
        ),
    },
    Explanation {
        code: "E1158",
        title: "a reference to a resource that is not created in this environment",
        text: "\
A `Ref`, `Fn::GetAtt`, `Fn::Sub` or `DependsOn` refers to a resource whose `Condition` is false
in the environment being checked, so the resource does not exist there and the reference has
nothing to resolve to. CloudFormation fails such a stack; infra reports it per environment.

Give the referring resource (or output) the same `Condition`, or guard the reference with
`Fn::If: [Condition, <reference>, !Ref AWS::NoValue]`.",
        example: ex(
            "\
Parameters:
  Environment:
    Type: String
    Default: dev
Conditions:
  IsProd: !Equals [!Ref Environment, prod]
Resources:
  Alarm:
    Type: Infra::Local::Data
    Condition: IsProd
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Ref Alarm
",
            "\
Parameters:
  Environment:
    Type: String
    Default: dev
Conditions:
  IsProd: !Equals [!Ref Environment, prod]
Resources:
  Alarm:
    Type: Infra::Local::Data
    Condition: IsProd
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !If [IsProd, !Ref Alarm, !Ref AWS::NoValue]
",
        ),
    },
    Explanation {
        code: "E1159",
        title: "Fn::Contains is malformed",
        text: "\
`Fn::Contains`, a rule function, takes `[[value, ...], value]` and is true when the list holds
the value. It is used in rule assertions.

Put the list first and the value second.",
        example: ex(
            "\
Parameters:
  Environment:
    Type: String
    Default: dev
Rules:
  KnownEnvironment:
    Assertions:
      - Assert: !Contains [!Ref Environment, [dev, prod]]
Resources:
  Data:
    Type: Infra::Local::Data
",
            "\
Parameters:
  Environment:
    Type: String
    Default: dev
Rules:
  KnownEnvironment:
    Assertions:
      - Assert: !Contains [[dev, prod], !Ref Environment]
Resources:
  Data:
    Type: Infra::Local::Data
",
        ),
    },
    Explanation {
        code: "E1160",
        title: "Fn::EachMemberEquals is malformed",
        text: "\
`Fn::EachMemberEquals`, a rule function, takes `[[value, ...], value]` and is true when every
item of the list equals the value.

Put the list first and the value second.",
        example: ex(
            "\
Parameters:
  Zones:
    Type: CommaDelimitedList
    Default: a,a
Rules:
  OneZone:
    Assertions:
      - Assert:
          Fn::EachMemberEquals: [a, !Ref Zones]
Resources:
  Data:
    Type: Infra::Local::Data
",
            "\
Parameters:
  Zones:
    Type: CommaDelimitedList
    Default: a,a
Rules:
  OneZone:
    Assertions:
      - Assert:
          Fn::EachMemberEquals: [!Ref Zones, a]
Resources:
  Data:
    Type: Infra::Local::Data
",
        ),
    },
    Explanation {
        code: "E1161",
        title: "Fn::EachMemberIn is malformed",
        text: "\
`Fn::EachMemberIn`, a rule function, takes `[[value, ...], [value, ...]]` and is true when
every item of the first list is in the second.

Pass two lists.",
        example: ex(
            "\
Parameters:
  Zones:
    Type: CommaDelimitedList
    Default: a,b
Rules:
  KnownZones:
    Assertions:
      - Assert:
          Fn::EachMemberIn: [!Ref Zones, a]
Resources:
  Data:
    Type: Infra::Local::Data
",
            "\
Parameters:
  Zones:
    Type: CommaDelimitedList
    Default: a,b
Rules:
  KnownZones:
    Assertions:
      - Assert:
          Fn::EachMemberIn: [!Ref Zones, [a, b, c]]
Resources:
  Data:
    Type: Infra::Local::Data
",
        ),
    },
    Explanation {
        code: "E1162",
        title: "Fn::RefAll is malformed",
        text: "\
`Fn::RefAll`, a rule function, takes a parameter type (`AWS::EC2::VPC::Id`) and yields every
value of that type in the account and region. infra makes no account lookups while
validating, so assertions using it are skipped; its argument is still checked.

Pass the type as a string.",
        example: ex(
            "\
Parameters:
  VpcId:
    Type: AWS::EC2::VPC::Id
    Default: vpc-0123456789abcdef0
Rules:
  KnownVpc:
    Assertions:
      - Assert: !Contains [{Fn::RefAll: [AWS::EC2::VPC::Id]}, !Ref VpcId]
Resources:
  Data:
    Type: Infra::Local::Data
",
            "\
Parameters:
  VpcId:
    Type: AWS::EC2::VPC::Id
    Default: vpc-0123456789abcdef0
Rules:
  KnownVpc:
    Assertions:
      - Assert: !Contains [{Fn::RefAll: AWS::EC2::VPC::Id}, !Ref VpcId]
Resources:
  Data:
    Type: Infra::Local::Data
",
        ),
    },
    Explanation {
        code: "E1163",
        title: "Fn::ValueOf is malformed or names an unknown parameter",
        text: "\
`Fn::ValueOf`, a rule function, takes `[ParameterName, Attribute]` and yields an attribute of
the resource the parameter names (a VPC's `DefaultNetworkAcl`, say). The parameter must be
declared in the template. infra makes no account lookups while validating, so assertions
using it are skipped; its arguments are still checked.

Name a declared parameter and an attribute.",
        example: ex(
            "\
Parameters:
  VpcId:
    Type: AWS::EC2::VPC::Id
    Default: vpc-0123456789abcdef0
Rules:
  DefaultTenancy:
    Assertions:
      - Assert: !Equals [{Fn::ValueOf: [Vpc, Tenancy]}, default]
Resources:
  Data:
    Type: Infra::Local::Data
",
            "\
Parameters:
  VpcId:
    Type: AWS::EC2::VPC::Id
    Default: vpc-0123456789abcdef0
Rules:
  DefaultTenancy:
    Assertions:
      - Assert: !Equals [{Fn::ValueOf: [VpcId, Tenancy]}, default]
Resources:
  Data:
    Type: Infra::Local::Data
",
        ),
    },
    Explanation {
        code: "E1164",
        title: "Fn::ValueOfAll is malformed",
        text: "\
`Fn::ValueOfAll`, a rule function, takes `[ParameterType, Attribute]` and yields that attribute
of every resource of the type in the account. infra makes no account lookups while
validating, so assertions using it are skipped; its arguments are still checked.

Pass the parameter type and the attribute.",
        example: ex(
            "\
Parameters:
  VpcId:
    Type: AWS::EC2::VPC::Id
    Default: vpc-0123456789abcdef0
Rules:
  Tagged:
    Assertions:
      - Assert: !EachMemberIn [{Fn::ValueOfAll: [AWS::EC2::VPC::Id]}, [default]]
Resources:
  Data:
    Type: Infra::Local::Data
",
            "\
Parameters:
  VpcId:
    Type: AWS::EC2::VPC::Id
    Default: vpc-0123456789abcdef0
Rules:
  Tagged:
    Assertions:
      - Assert: !EachMemberIn [{Fn::ValueOfAll: [AWS::EC2::VPC::Id, Tenancy]}, [default]]
Resources:
  Data:
    Type: Infra::Local::Data
",
        ),
    },
    Explanation {
        code: "E1165",
        title: "Fn::Or is malformed",
        text: "\
`Fn::Or` takes a list of 2 to 10 conditions and is true when any of them is. A single
condition, more than ten, or a value that is not a list is refused.

List the conditions; for one condition, use it directly.",
        example: ex(
            "\
Parameters:
  Environment:
    Type: String
    Default: dev
Conditions:
  IsProd: !Equals [!Ref Environment, prod]
  IsShared: !Or [{Condition: IsProd}]
Resources:
  Data:
    Type: Infra::Local::Data
    Condition: IsShared
",
            "\
Parameters:
  Environment:
    Type: String
    Default: dev
Conditions:
  IsProd: !Equals [!Ref Environment, prod]
  IsShared: !Or [{Condition: IsProd}, !Equals [!Ref Environment, staging]]
Resources:
  Data:
    Type: Infra::Local::Data
    Condition: IsShared
",
        ),
    },
    Explanation {
        code: "E2001",
        title: "unknown resource type",
        text: "\
The resource's `Type` is not in the CloudFormation registry schemas infra carries, nor an
`Infra::Local::` type, nor a custom resource (`Custom::Name` or
`AWS::CloudFormation::CustomResource`). Usually the type is misspelt or has the wrong case;
the help suggests the closest type.

Fix the type name. The README's resource types table lists the types infra deploys; other
registry types validate and plan but have no provider yet.",
        example: ex(
            "\
Resources:
  Group:
    Type: AWS::SageMaker::ModelPackageGroups
    Properties:
      ModelPackageGroupName: models
",
            "\
Resources:
  Group:
    Type: AWS::SageMaker::ModelPackageGroup
    Properties:
      ModelPackageGroupName: models
",
        ),
    },
    Explanation {
        code: "E2002",
        title: "unknown property",
        text: "\
A property is not in the resource type's schema. CloudFormation would fail the stack at
deploy time; a provider would ignore or refuse it. Misspellings and properties of a similar
type are the usual causes; the help suggests the closest property.

Fix the name, or remove the property.",
        example: ex(
            "\
Resources:
  Group:
    Type: AWS::SageMaker::ModelPackageGroup
    Properties:
      ModelPackageGroupNam: models
",
            "\
Resources:
  Group:
    Type: AWS::SageMaker::ModelPackageGroup
    Properties:
      ModelPackageGroupName: models
",
        ),
    },
    Explanation {
        code: "E2003",
        title: "a property has the wrong type",
        text: "\
A property's value is of a type its schema does not allow: a list where a string is expected,
a mapping where a list is expected, a string that is not a number where an integer is
expected. Values computed by intrinsic functions are checked once they are known.

Give the property a value of the type the schema expects.",
        example: ex(
            "\
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      Description: [serving role]
      AssumeRolePolicyDocument:
        Statement:
          - {Effect: Allow, Principal: {Service: sagemaker.amazonaws.com}, Action: sts:AssumeRole}
",
            "\
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      Description: serving role
      AssumeRolePolicyDocument:
        Statement:
          - {Effect: Allow, Principal: {Service: sagemaker.amazonaws.com}, Action: sts:AssumeRole}
",
        ),
    },
    Explanation {
        code: "E2004",
        title: "a required property is missing",
        text: "\
A property the resource type's schema requires is missing, so the resource cannot be created.

Add the property.",
        example: ex(
            "\
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      Description: serving role
",
            "\
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      Description: serving role
      AssumeRolePolicyDocument:
        Statement:
          - {Effect: Allow, Principal: {Service: sagemaker.amazonaws.com}, Action: sts:AssumeRole}
",
        ),
    },
    Explanation {
        code: "E2005",
        title: "a property's value is not one its schema allows",
        text: "\
The property takes one of a fixed set of values and the value given is not among them. Case
counts; the help suggests the closest allowed value.

Use one of the allowed values.",
        example: ex(
            "\
Resources:
  Policy:
    Type: AWS::ApplicationAutoScaling::ScalingPolicy
    Properties:
      PolicyName: invocations
      PolicyType: TargetTracking
",
            "\
Resources:
  Policy:
    Type: AWS::ApplicationAutoScaling::ScalingPolicy
    Properties:
      PolicyName: invocations
      PolicyType: TargetTrackingScaling
",
        ),
    },
    Explanation {
        code: "E2006",
        title: "a property's value does not match its pattern",
        text: "\
The property's schema restricts its characters with a pattern, and the value does not match:
a space in an IAM role name, an underscore where only dashes are allowed. The service would
refuse the call.

Change the value to fit the pattern the message quotes.",
        example: ex(
            "\
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      RoleName: serving role
      AssumeRolePolicyDocument:
        Statement:
          - {Effect: Allow, Principal: {Service: sagemaker.amazonaws.com}, Action: sts:AssumeRole}
",
            "\
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      RoleName: serving-role
      AssumeRolePolicyDocument:
        Statement:
          - {Effect: Allow, Principal: {Service: sagemaker.amazonaws.com}, Action: sts:AssumeRole}
",
        ),
    },
    Explanation {
        code: "E2007",
        title: "a property's value is too short or too long",
        text: "\
A string property is shorter or longer than its schema allows, such as an IAM role name over
64 characters. Names built with `Fn::Sub` from the project, environment and layer grow
quickly; leaving the name out lets infra generate one that fits.

Shorten the value, or drop the name property and let infra generate the name.",
        example: ex(
            "\
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      RoleName: mlplatform-production-backend-sagemaker-endpoint-execution-role-v2
      AssumeRolePolicyDocument:
        Statement:
          - {Effect: Allow, Principal: {Service: sagemaker.amazonaws.com}, Action: sts:AssumeRole}
",
            "\
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      RoleName: mlplatform-prod-endpoint-role
      AssumeRolePolicyDocument:
        Statement:
          - {Effect: Allow, Principal: {Service: sagemaker.amazonaws.com}, Action: sts:AssumeRole}
",
        ),
    },
    Explanation {
        code: "E2008",
        title: "a list property has too few or too many items",
        text: "\
A list property holds fewer items than its schema's minimum or more than its maximum: an
endpoint configuration without production variants, more than 50 tags.

Add or remove items.",
        example: ex(
            "\
Resources:
  Config:
    Type: AWS::SageMaker::EndpointConfig
    Properties:
      ProductionVariants: []
",
            "\
Resources:
  Config:
    Type: AWS::SageMaker::EndpointConfig
    Properties:
      ProductionVariants:
        - VariantName: AllTraffic
          ModelName: model
          InstanceType: ml.t2.medium
          InitialInstanceCount: 1
          InitialVariantWeight: 1
",
        ),
    },
    Explanation {
        code: "E2009",
        title: "Fn::GetAtt names an attribute the resource type does not have",
        text: "\
`Fn::GetAtt` (or `${Resource.Attribute}` in `Fn::Sub`) asks for an attribute the target's type
does not return. Attribute names differ between types (`Arn`, `RoleId`, `ModelName`,
`EndpointName`); the help suggests the closest.

Use an attribute of the type, or `Ref` for the resource's primary identifier.",
        example: ex(
            "\
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement:
          - {Effect: Allow, Principal: {Service: sagemaker.amazonaws.com}, Action: sts:AssumeRole}
Outputs:
  RoleArn:
    Value: !GetAtt Role.ARN
",
            "\
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement:
          - {Effect: Allow, Principal: {Service: sagemaker.amazonaws.com}, Action: sts:AssumeRole}
Outputs:
  RoleArn:
    Value: !GetAtt Role.Arn
",
        ),
    },
    Explanation {
        code: "E2010",
        title: "a number property is out of range",
        text: "\
A number property is below its schema's minimum or above its maximum, such as an IAM role's
`MaxSessionDuration` (seconds, 3600 to 43200) given in minutes.

Give a value in the range the message states.",
        example: ex(
            "\
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      MaxSessionDuration: 60
      AssumeRolePolicyDocument:
        Statement:
          - {Effect: Allow, Principal: {Service: sagemaker.amazonaws.com}, Action: sts:AssumeRole}
",
            "\
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      MaxSessionDuration: 3600
      AssumeRolePolicyDocument:
        Statement:
          - {Effect: Allow, Principal: {Service: sagemaker.amazonaws.com}, Action: sts:AssumeRole}
",
        ),
    },
    Explanation {
        code: "E3001",
        title: "resources form a dependency cycle",
        text: "\
Resources depend on each other in a circle, through `Ref`, `Fn::GetAtt`, `Fn::Sub` and
`DependsOn`, so none of them can be created first. The message lists the path.

Break the cycle: drop a `DependsOn`, or move one reference into a separate resource created
afterwards (an IAM policy attached to a role later, instead of inside it).",
        example: ex(
            "\
Resources:
  First:
    Type: Infra::Local::Data
    Properties:
      Input: !GetAtt Second.Output
  Second:
    Type: Infra::Local::Data
    Properties:
      Input: !GetAtt First.Output
",
            "\
Resources:
  First:
    Type: Infra::Local::Data
    Properties:
      Input: seed
  Second:
    Type: Infra::Local::Data
    Properties:
      Input: !GetAtt First.Output
",
        ),
    },
    Explanation {
        code: "E3010",
        title: "a layer imports its own export",
        text: "\
A layer's `Fn::ImportValue` names an export that the same layer declares. Imports are resolved
before the layer is applied, so a layer cannot read its own exports this way, and
CloudFormation refuses it too.

Refer to the resource directly with `Ref` or `Fn::GetAtt`.",
        example: ex(
            "\
# stacks/identity/data.yaml
Resources:
  First:
    Type: Infra::Local::Data
    Properties:
      Input: x
  Second:
    Type: Infra::Local::Data
    Properties:
      Input:
        Fn::ImportValue: demo-dev-identity-First
Outputs:
  First:
    Value: !GetAtt First.Output
    Export:
      Name: demo-dev-identity-First
",
            "\
# stacks/identity/data.yaml
Resources:
  First:
    Type: Infra::Local::Data
    Properties:
      Input: x
  Second:
    Type: Infra::Local::Data
    Properties:
      Input: !GetAtt First.Output
Outputs:
  First:
    Value: !GetAtt First.Output
    Export:
      Name: demo-dev-identity-First
",
        ),
    },
    Explanation {
        code: "E3011",
        title: "a layer imports from a higher layer",
        text: "\
A layer imports an export of a layer above it in the project's order (by default identity,
network, shared, backend, frontend). Layers are applied lowest first and destroyed highest
first, so an import from above would not exist yet when the layer is applied, and would keep
the higher layer from ever being destroyed.

Move the exported resource down to the importing layer or below, or move the importing
resource up.",
        example: ex(
            "\
# stacks/identity/data.yaml
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input:
        Fn::ImportValue: demo-dev-backend-Name
# stacks/backend/name.yaml
Resources:
  Name:
    Type: Infra::Local::Data
    Properties:
      Input: x
Outputs:
  Name:
    Value: !GetAtt Name.Output
    Export:
      Name: !Sub \"${AWS::StackName}-Name\"
",
            "\
# stacks/identity/name.yaml
Resources:
  Name:
    Type: Infra::Local::Data
    Properties:
      Input: x
Outputs:
  Name:
    Value: !GetAtt Name.Output
    Export:
      Name: !Sub \"${AWS::StackName}-Name\"
# stacks/backend/data.yaml
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input:
        Fn::ImportValue: demo-dev-identity-Name
",
        ),
    },
    Explanation {
        code: "E3012",
        title: "a layer imports an export that no layer declares",
        text: "\
`Fn::ImportValue` names an export that no layer of the project declares in the environment
being checked. Export names follow `{project}-{env}-{layer}-OutputName`; a wrong layer or
environment in the name, or an output without `Export`, are the usual causes. The help
suggests the closest export.

Fix the name, or add the `Export` to the output of the lower layer.",
        example: ex(
            "\
# stacks/identity/name.yaml
Resources:
  Name:
    Type: Infra::Local::Data
    Properties:
      Input: x
Outputs:
  Name:
    Value: !GetAtt Name.Output
    Export:
      Name: !Sub \"${AWS::StackName}-Name\"
# stacks/backend/data.yaml
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input:
        Fn::ImportValue: demo-dev-network-Name
",
            "\
# stacks/identity/name.yaml
Resources:
  Name:
    Type: Infra::Local::Data
    Properties:
      Input: x
Outputs:
  Name:
    Value: !GetAtt Name.Output
    Export:
      Name: !Sub \"${AWS::StackName}-Name\"
# stacks/backend/data.yaml
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input:
        Fn::ImportValue: demo-dev-identity-Name
",
        ),
    },
    Explanation {
        code: "E3013",
        title: "an export name is declared twice",
        text: "\
Two outputs (in one layer or in two) export the same name. Export names are unique in an
account and region; CloudFormation refuses the second stack, and an import could not tell
which was meant. Hard-coded names are the usual cause; `!Sub \"${AWS::StackName}-OutputName\"`
makes every export name unique to its layer and environment.

Rename one of the exports.",
        example: ex(
            "\
# stacks/identity/name.yaml
Resources:
  Name:
    Type: Infra::Local::Data
Outputs:
  Name:
    Value: !Ref Name
    Export:
      Name: demo-name
# stacks/backend/name.yaml
Resources:
  Name:
    Type: Infra::Local::Data
Outputs:
  Name:
    Value: !Ref Name
    Export:
      Name: demo-name
",
            "\
# stacks/identity/name.yaml
Resources:
  Name:
    Type: Infra::Local::Data
Outputs:
  Name:
    Value: !Ref Name
    Export:
      Name: !Sub \"${AWS::StackName}-Name\"
# stacks/backend/name.yaml
Resources:
  Name:
    Type: Infra::Local::Data
Outputs:
  Name:
    Value: !Ref Name
    Export:
      Name: !Sub \"${AWS::StackName}-Name\"
",
        ),
    },
    Explanation {
        code: "E3020",
        title: "two files of a layer declare the same name",
        text: "\
The files of a layer merge into one stack, so a logical ID (resource, output, condition,
mapping) may be declared only once across them. Parameters may be repeated in several files,
but only identically. The message names both places.

Rename one of them, or, for a parameter, make the two declarations identical.",
        example: ex(
            "\
# stacks/identity/a.yaml
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: a
# stacks/identity/b.yaml
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: b
",
            "\
# stacks/identity/a.yaml
Resources:
  DataA:
    Type: Infra::Local::Data
    Properties:
      Input: a
# stacks/identity/b.yaml
Resources:
  DataB:
    Type: Infra::Local::Data
    Properties:
      Input: b
",
        ),
    },
    Explanation {
        code: "E5001",
        title: "infra.toml could not be read",
        text: "\
The project directory has no infra.toml, or it could not be read. Every command but `infra
init` works on a project: a directory holding infra.toml and stacks/<layer>/ folders.

Run infra in the project directory, pass `--project-dir DIR` (or set `INFRA_PROJECT_DIR`), or
start a project with `infra init`.",
        example: None,
    },
    Explanation {
        code: "E5002",
        title: "infra.toml is not valid TOML",
        text: "\
infra.toml does not parse as TOML: an unclosed quote, a key without a value, a table header
declared twice. The templates are still checked, in the default layer order.

Fix the syntax at the position shown.",
        example: ex(
            "\
# infra.toml
[project]
name = \"demo
region = \"us-east-1\"

[environments.dev]
",
            "\
# infra.toml
[project]
name = \"demo\"
region = \"us-east-1\"

[environments.dev]
",
        ),
    },
    Explanation {
        code: "E5003",
        title: "unknown key in infra.toml",
        text: "\
infra.toml has a key infra does not know. A misspelt setting would otherwise be ignored
silently, and a misspelt `endpoint_url` would send a run to real AWS. The help suggests the
closest key.

Fix the spelling, or remove the key. The README's \"A project\" section lists every setting.",
        example: ex(
            "\
# infra.toml
[project]
name = \"demo\"
region = \"us-east-1\"

[environments.dev]
endpoint = \"http://127.0.0.1:5000\"
",
            "\
# infra.toml
[project]
name = \"demo\"
region = \"us-east-1\"

[environments.dev]
endpoint_url = \"http://127.0.0.1:5000\"
",
        ),
    },
    Explanation {
        code: "E5004",
        title: "a setting in infra.toml has the wrong kind of value",
        text: "\
A setting holds the wrong kind of value: a number where a string is expected, a string where
a list is expected, an empty `layers` list or path, an `endpoint_url` that is not an http:// or
https:// URL.

Give the setting the kind of value the message names.",
        example: ex(
            "\
# infra.toml
[project]
name = \"demo\"
region = \"us-east-1\"

[environments.dev]
endpoint_url = \"127.0.0.1:5000\"
",
            "\
# infra.toml
[project]
name = \"demo\"
region = \"us-east-1\"

[environments.dev]
endpoint_url = \"http://127.0.0.1:5000\"
",
        ),
    },
    Explanation {
        code: "E5005",
        title: "infra.toml is missing a required setting",
        text: "\
A setting infra needs is missing, such as `[project] name` (part of every stack and export
name) or `region`.

Add it.",
        example: ex(
            "\
# infra.toml
[project]
region = \"us-east-1\"

[environments.dev]
",
            "\
# infra.toml
[project]
name = \"demo\"
region = \"us-east-1\"

[environments.dev]
",
        ),
    },
    Explanation {
        code: "E5006",
        title: "a folder or template under stacks/ is not in a configured layer",
        text: "\
stacks/ holds a folder that is not one of the project's layers, or a template directly in
stacks/ rather than in a layer folder. Its templates would never be applied. The layers are
`[project] layers` in infra.toml, by default identity, network, shared, backend and frontend.

Rename the folder to a layer (the help suggests the closest), move the template into a layer
folder, or add the layer to `layers`.",
        example: ex(
            "\
# stacks/idenity/data.yaml
Resources:
  Data:
    Type: Infra::Local::Data
",
            "\
# stacks/identity/data.yaml
Resources:
  Data:
    Type: Infra::Local::Data
",
        ),
    },
    Explanation {
        code: "E5007",
        title: "unknown environment",
        text: "\
`--env` (or `INFRA_ENV`) names an environment infra.toml does not declare. Environments are the
`[environments.<name>]` tables; the help suggests the closest name.

Fix the name, or declare the environment in infra.toml.",
        example: None,
    },
    Explanation {
        code: "E5008",
        title: "an invalid or repeated name in infra.toml",
        text: "\
A project, environment or layer name holds characters other than letters, digits, `-` and `_`,
or a layer is listed twice in `layers`. Names become part of stack names, export names and
state paths, so they must be safe in all of them.

Rename it, or remove the repeated layer.",
        example: ex(
            "\
# infra.toml
[project]
name = \"my project\"
region = \"us-east-1\"

[environments.dev]
",
            "\
# infra.toml
[project]
name = \"my-project\"
region = \"us-east-1\"

[environments.dev]
",
        ),
    },
    Explanation {
        code: "E5009",
        title: "infra.toml declares no environments",
        text: "\
infra.toml has no `[environments.<name>]` table. Every plan, apply and state file belongs to an
environment, so a project needs at least one, even an empty one.

Add `[environments.dev]`.",
        example: ex(
            "\
# infra.toml
[project]
name = \"demo\"
region = \"us-east-1\"
",
            "\
# infra.toml
[project]
name = \"demo\"
region = \"us-east-1\"

[environments.dev]
",
        ),
    },
    Explanation {
        code: "E5010",
        title: "an environment sets parameters for an unknown layer",
        text: "\
`[environments.<env>.layers.<layer>.parameters]` names a layer the project does not have, so
the values would never be used.

Fix the layer name, or add the layer to `[project] layers`.",
        example: ex(
            "\
# infra.toml
[project]
name = \"demo\"
region = \"us-east-1\"

[environments.dev.layers.identiy.parameters]
Environment = \"dev\"
",
            "\
# infra.toml
[project]
name = \"demo\"
region = \"us-east-1\"

[environments.dev]
",
        ),
    },
    Explanation {
        code: "E5011",
        title: "an environment's parameter value is not declared by any template",
        text: "\
infra.toml gives a value for a parameter that no template it applies to declares (for a
per-layer value: no template of that layer). A misspelt parameter name would otherwise leave
the template on its default without a word. The help suggests the closest parameter.

Fix the name, declare the parameter in a template, or remove the value.",
        example: ex(
            "\
# infra.toml
[project]
name = \"demo\"
region = \"us-east-1\"

[environments.dev.parameters]
InstanceTyp = \"ml.t2.medium\"
# stacks/identity/data.yaml
Parameters:
  InstanceType:
    Type: String
    Default: ml.t2.medium
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Ref InstanceType
",
            "\
# infra.toml
[project]
name = \"demo\"
region = \"us-east-1\"

[environments.dev.parameters]
InstanceType = \"ml.t2.medium\"
# stacks/identity/data.yaml
Parameters:
  InstanceType:
    Type: String
    Default: ml.t2.medium
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Ref InstanceType
",
        ),
    },
    Explanation {
        code: "E5012",
        title: "stacks/ or a layer folder could not be read",
        text: "\
The stacks/ folder or one of its layer folders exists but could not be listed: permission
denied, or it was removed while infra was reading the project. The message gives the operating
system's error.

Check the folder's permissions (`ls -ld stacks stacks/*`).",
        example: None,
    },
    Explanation {
        code: "E5013",
        title: "a duration in infra.toml cannot be read",
        text: "\
A duration setting, such as an environment's `retry_timeout`, is not a number followed by a
unit.

Write it as \"90s\", \"5m\" or \"1h 30m\".",
        example: ex(
            "\
# infra.toml
[project]
name = \"demo\"
region = \"us-east-1\"

[environments.dev]
retry_timeout = \"soon\"
",
            "\
# infra.toml
[project]
name = \"demo\"
region = \"us-east-1\"

[environments.dev]
retry_timeout = \"5m\"
",
        ),
    },
    Explanation {
        code: "W4001",
        title: "a policy statement allows every action on every resource",
        text: "\
An IAM policy statement allows `*`, `*:*` or `iam:*` (or every action but a few, with
`NotAction`) on `Resource: \"*\"`. That is full control of the account, or the power to grant
it to oneself, given to whoever holds the role. It is a warning, not an error: infra applies
it, but such a statement is almost never what a workload needs.

Name the actions and the resources the workload uses.",
        example: ex(
            "\
Resources:
  Policy:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Version: \"2012-10-17\"
        Statement:
          - Effect: Allow
            Action: \"*\"
            Resource: \"*\"
",
            "\
Resources:
  Policy:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Version: \"2012-10-17\"
        Statement:
          - Effect: Allow
            Action: s3:GetObject
            Resource: arn:aws:s3:::demo-models/*
",
        ),
    },
    Explanation {
        code: "W4002",
        title: "a trust policy lets any principal assume the role",
        text: "\
A role's `AssumeRolePolicyDocument` allows `sts:AssumeRole` to `Principal: \"*\"` (or
`AWS: \"*\"`): any AWS account, user or role anywhere may take on the role's permissions.

Name the service that assumes the role (`Service: sagemaker.amazonaws.com`) or the accounts
and roles that should.",
        example: ex(
            "\
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement:
          - {Effect: Allow, Principal: \"*\", Action: sts:AssumeRole}
",
            "\
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement:
          - {Effect: Allow, Principal: {Service: sagemaker.amazonaws.com}, Action: sts:AssumeRole}
",
        ),
    },
    Explanation {
        code: "W4003",
        title: "a NoEcho parameter has a default value",
        text: "\
A parameter marked `NoEcho` (a secret) has a `Default`. `NoEcho` masks the value in what infra
and CloudFormation show, but a default is written in the template for anyone who can read the
repository.

Remove the `Default` and give the value per environment in infra.toml (kept out of the
repository), or read it from a secret store.",
        example: ex(
            "\
Parameters:
  ApiToken:
    Type: String
    NoEcho: true
    Default: hunter2
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Ref ApiToken
",
            "\
Parameters:
  ApiToken:
    Type: String
    NoEcho: true
Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: !Ref ApiToken
",
        ),
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};

    /// Every `"E1234"` / `"W1234"` literal in the engine's sources, except this file's.
    fn codes_in_sources() -> BTreeSet<String> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).expect("read the source folder") {
                let path = entry.expect("source entry").path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    out.push(path);
                }
            }
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        walk(&root, &mut files);
        let literal = regex::Regex::new(r#""([EW][0-9]{4})""#).expect("regex");
        let mut codes = BTreeSet::new();
        for file in files.iter().filter(|f| !f.ends_with("diag/explain.rs")) {
            let text = std::fs::read_to_string(file).expect("read a source file");
            codes.extend(literal.captures_iter(&text).map(|c| c[1].to_string()));
        }
        codes
    }

    #[test]
    fn every_code_in_the_sources_has_an_explanation_and_every_explanation_a_use() {
        let used = codes_in_sources();
        assert!(used.len() > 100, "found only {} codes in the sources: is the scan broken?", used.len());
        let explained: BTreeSet<String> = EXPLANATIONS.iter().map(|e| e.code.to_string()).collect();
        let missing: Vec<_> = used.difference(&explained).collect();
        let unused: Vec<_> = explained.difference(&used).collect();
        assert!(missing.is_empty(), "codes used in crates/infra-core/src without an explanation: {missing:?}");
        assert!(unused.is_empty(), "explanations of codes no longer used anywhere: {unused:?}");
    }

    #[test]
    fn the_table_is_sorted_without_duplicates_and_complete() {
        for pair in EXPLANATIONS.windows(2) {
            assert!(
                pair[0].code < pair[1].code,
                "{} comes before {}: keep the table sorted",
                pair[0].code,
                pair[1].code
            );
        }
        for e in EXPLANATIONS {
            assert!(
                !e.title.is_empty() && !e.title.ends_with('.'),
                "{}: a title is a fragment without a period",
                e.code
            );
            assert!(e.text.trim().len() > 80, "{}: the explanation is too short to explain anything", e.code);
            assert!(!e.text.contains("TODO"), "{}", e.code);
        }
    }

    #[test]
    fn lookup_ignores_case_and_spaces() {
        assert_eq!(lookup(" e1139 ").map(|e| e.code), Some("E1139"));
        assert!(lookup("E9999").is_none());
    }

    /// The files of an example: `(path, text)`; `None` as the path for a lone template.
    fn files(example: &str) -> Vec<(Option<String>, String)> {
        let mut out: Vec<(Option<String>, String)> = Vec::new();
        for line in example.lines() {
            let header = line.strip_prefix("# ").filter(|p| {
                !p.contains(' ') && [".yaml", ".yml", ".json", "infra.toml"].iter().any(|e| p.ends_with(e))
            });
            match header {
                Some(path) => out.push((Some(path.to_string()), String::new())),
                None => {
                    if out.is_empty() {
                        out.push((None, String::new()));
                    }
                    if let Some(last) = out.last_mut() {
                        last.1.push_str(line);
                        last.1.push('\n');
                    }
                }
            }
        }
        out
    }

    const DEFAULT_SETTINGS: &str = "[project]\nname = \"demo\"\nregion = \"us-east-1\"\n\n[environments.dev]\n";
    const DEFAULT_TEMPLATE: &str =
        "Resources:\n  Data:\n    Type: Infra::Local::Data\n    Properties:\n      Input: x\n";

    /// The codes validating an example reports, with the rendered diagnostics for messages.
    fn check(example: &str) -> (Vec<(&'static str, bool)>, String) {
        let dir = tempfile::tempdir().expect("temp dir");
        let files = files(example);
        let v = if files.iter().all(|(p, _)| p.is_none()) {
            let text = files.first().map(|(_, t)| t.as_str()).unwrap_or_default();
            let name = if text.trim_start().starts_with('{') { "template.json" } else { "template.yaml" };
            let path = dir.path().join(name);
            std::fs::write(&path, text).expect("write the template");
            crate::validate::validate_files(&[path])
        } else {
            let mut settings = false;
            let mut stacks = false;
            for (path, text) in &files {
                let path = path.as_deref().expect("every file of a project example has a header");
                settings |= path == "infra.toml";
                stacks |= path.starts_with("stacks/");
                let full = dir.path().join(path);
                std::fs::create_dir_all(full.parent().expect("a parent")).expect("create folders");
                std::fs::write(full, text).expect("write a file");
            }
            if !settings {
                std::fs::write(dir.path().join("infra.toml"), DEFAULT_SETTINGS).expect("write infra.toml");
            }
            if !stacks {
                std::fs::create_dir_all(dir.path().join("stacks/identity")).expect("create stacks/");
                std::fs::write(dir.path().join("stacks/identity/data.yaml"), DEFAULT_TEMPLATE).expect("write");
            }
            crate::validate::validate_project(dir.path(), &[])
        };
        let diags: Vec<_> = v.diags.iter().cloned().collect();
        let shown = crate::render::diag::human(&diags, &v.sources, false);
        (diags.iter().map(|d| (d.code, d.is_error())).collect(), shown)
    }

    #[test]
    fn wrong_examples_report_their_code_and_fixed_ones_no_error() {
        let mut failures = Vec::new();
        for e in EXPLANATIONS {
            let Some(ex) = &e.example else { continue };
            let (wrong, shown) = check(ex.wrong);
            if !wrong.iter().any(|(c, _)| *c == e.code) {
                failures.push(format!("{}: the wrong example does not report it:\n{shown}", e.code));
            }
            let (fixed, shown) = check(ex.fixed);
            if fixed.iter().any(|(c, error)| *error || *c == e.code) {
                failures.push(format!("{}: the fixed example still reports a problem:\n{shown}", e.code));
            }
        }
        assert!(failures.is_empty(), "{} examples are wrong:\n\n{}", failures.len(), failures.join("\n"));
    }
}
